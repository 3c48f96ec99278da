# SPDX-License-Identifier: GPL-2.0-only
"""split-xenstored on a real Xen 4.17 host booted under QEMU: each step that
dom0 runs (dom0-steps.sh) is a test, once with dom0's root on a tmpfs, once
with it left on the initramfs, and once on a host that C xenstored serves
first and the broker takes over by live update. Run by `make xen-test`,
which builds the images first (build.sh) and sets XS_XEN_IMAGES.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import boot  # noqa: E402

IMAGES = os.environ.get("XS_XEN_IMAGES", "build/xen")
LOGS = os.path.join(IMAGES, "logs")
STEPS = ["hypervisor", "broker", "sandbox", "dom0_ring", "init_dom0",
         "guests", "guest_rw", "guest_isolation", "engine_kill", "destroy",
         "audit", "shutdown", "broker_log"]
# C xenstored serves (the broker step starts it) until the guests run; a
# takeover the broker refuses leaves it serving, then the takeover step
# live-updates it to the broker, which every step after it checks as it
# checks one started as such.
TAKEOVER_STEPS = ["hypervisor", "broker", "dom0_ring", "init_dom0",
                  "guests", "guest_rw", "takeover_refused", "takeover",
                  "sandbox", "guest_isolation", "engine_kill", "destroy",
                  "audit", "shutdown", "broker_log"]
MODES = {"tmpfs": STEPS, "initramfs": STEPS, "takeover": TAKEOVER_STEPS}
CASES = [(m, s) for m in MODES for s in MODES[m]]

_runs = {}


def run_of(mode):
    if mode not in _runs:
        for f in ("xen", "vmlinuz", "dom0.cpio.gz"):
            if not os.path.exists(os.path.join(IMAGES, f)):
                pytest.fail("no {} in {}: run `make xen-test`".format(
                    f, IMAGES))
        _runs[mode] = boot.boot(IMAGES, mode, LOGS)
        sys.stderr.write("\nxen-test: {} boot took {:.0f} s\n".format(
            mode, _runs[mode].seconds))
    return _runs[mode]


@pytest.mark.parametrize("mode,step", CASES,
                         ids=["{}-{}".format(m, s) for m, s in CASES])
def test_step(mode, step):
    run = run_of(mode)
    if step not in run.results:
        tail = run.console().splitlines()[-60:]
        pytest.fail("step {} not reached ({}); console kept in {}; its "
                    "end:\n{}".format(step, run.ended or "dom0 stopped",
                                      run.log_path, "\n".join(tail)))
    passed, lines = run.results[step]
    if not passed:
        pytest.fail("step {} failed; console kept in {}:\n{}".format(
            step, run.log_path, "\n".join(lines)))
