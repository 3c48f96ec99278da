# SPDX-License-Identifier: GPL-2.0-only
"""Boots Debian's Xen 4.17 under QEMU's emulation with dom0's root built by
build.sh, and follows the steps dom0-steps.sh reports on the serial console.

No network, fixed memory and CPUs, a deadline for the boot and for each
step: a step that overruns ends the run there. The whole console is kept in
LOGDIR/MODE.console.log.
"""
import os
import select
import subprocess
import time

# Xen's command line. smap=0 smep=0: under emulation dom0 faults on its own
# stack at its first instructions without them.
XEN_ARGS = ("console=com1 com1=115200,8n1 dom0_mem=768M,max:768M "
            "smap=0 smep=0 noreboot")
DOM0_ARGS = "console=hvc0 earlyprintk=xen xt.root={root} xt.xenstored={xsd}"
# XS_XEN_XENSTORED=c runs Debian's C xenstored in xs-broker's place, to
# tell what the host does from what the broker does; XS_XEN_HOG=1 adds two
# busy loops in dom0 beside it (docs/testing.md, "busy vCPUs").
XENSTORED = os.environ.get("XS_XEN_XENSTORED", "broker")
if os.environ.get("XS_XEN_HOG"):
    DOM0_ARGS += " xt.hog"


def dom0_args(mode):
    """dom0's command line in MODE: tmpfs and initramfs name where its root
    lives; takeover has it on a tmpfs, starts C xenstored and live-updates
    it to xs-broker once the guests run (dom0-steps.sh)."""
    if mode == "takeover":
        return DOM0_ARGS.format(root="tmpfs", xsd="c") + " xt.takeover"
    return DOM0_ARGS.format(root=mode, xsd=XENSTORED)


# Until dom0's first step begins.
BOOT_SECONDS = 300
# Each step's own timeout in dom0 (dom0-steps.sh) plus a margin for the
# diagnostics it prints when it fails.
STEP_SECONDS = 480


def qemu_command(imgdir, mode):
    # QEMU's multiboot loader: each module's command line follows its
    # path; a comma separates modules.
    dom0 = "{} {}".format(os.path.join(imgdir, "vmlinuz"), dom0_args(mode))
    return ["qemu-system-x86_64", "-cpu", "max", "-smp", "2", "-m", "1536",
            "-nographic", "-no-reboot", "-nic", "none", "-monitor", "none",
            "-serial", "stdio", "-display", "none",
            "-kernel", os.path.join(imgdir, "xen"), "-append", XEN_ARGS,
            "-initrd", dom0 + "," + os.path.join(imgdir, "dom0.cpio.gz")]


class Run:
    """One boot: results[step] is (passed, the step's console lines)."""

    def __init__(self, mode, log_path):
        self.mode = mode
        self.log_path = log_path
        self.results = {}
        self.ended = None  # why the run ended early, if it did
        self.seconds = 0.0

    def console(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def _lines(proc, deadline_of):
    """Yields console lines until QEMU exits or the deadline passes."""
    buf = b""
    fd = proc.stdout.fileno()
    while True:
        left = deadline_of() - time.monotonic()
        if left <= 0:
            yield None
            return
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            if buf:
                yield buf.decode(errors="replace")
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode(errors="replace").rstrip("\r")


def boot(imgdir, mode, logdir):
    os.makedirs(logdir, exist_ok=True)
    run = Run(mode, os.path.join(logdir, mode + ".console.log"))
    start = time.monotonic()
    deadline = [start + BOOT_SECONDS]
    current, section = None, []
    proc = subprocess.Popen(qemu_command(imgdir, mode),
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        with open(run.log_path, "w") as log:
            for line in _lines(proc, lambda: deadline[0]):
                if line is None:
                    run.ended = "timed out in {}".format(
                        current or "the boot")
                    break
                log.write(line + "\n")
                log.flush()
                words = line.split()
                if len(words) == 2 and words[0] == "XT-BEGIN":
                    current, section = words[1], []
                    deadline[0] = time.monotonic() + STEP_SECONDS
                elif current is not None:
                    section.append(line)
                if len(words) == 2 and words[0] in ("XT-PASS", "XT-FAIL"):
                    run.results[words[1]] = (words[0] == "XT-PASS", section)
                elif line.startswith("XT-DIAG end") and run.results:
                    # The diagnostics belong to the step that failed.
                    last = list(run.results)[-1]
                    run.results[last] = (run.results[last][0], section)
                    current = None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        run.seconds = time.monotonic() - start
    if current is not None and current not in run.results:
        run.results[current] = (False, section + [run.ended or "QEMU ended"])
    return run
