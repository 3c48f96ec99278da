#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turns policy/*.seccomp allow-lists into a C header.

  gen-seccomp.py [--role broker NAME] OUT POLICY...

The header holds the policy text (for xs-broker --print-policy) and, under
SECCOMP_POLICY_RULES, a function that adds each rule to a libseccomp filter.
The engine's rules may name its fds (CHANNEL, STATE_A, STATE_B, OUTPUT); the
broker's name none: they test request numbers and flags only, since the
broker's fds are opened by libraries that do not say which they are. Either
way the policy file stays the only list of system calls.
"""
import re
import sys

OPS = {"==": "SCMP_CMP_EQ", "!=": "SCMP_CMP_NE", "<": "SCMP_CMP_LT",
       "<=": "SCMP_CMP_LE", ">": "SCMP_CMP_GT", ">=": "SCMP_CMP_GE"}
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def fail(path, lineno, msg):
    sys.exit("%s:%d: %s" % (path, lineno, msg))


def parse(path):
    rules = []
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            text = raw.rstrip("\n")
            body = text.split("#", 1)[0].strip()
            if not body:
                continue
            words = body.split()
            act = "SCMP_ACT_ALLOW"
            if words[-1].startswith("errno="):
                err = words.pop()[6:]
                if not re.match(r"^E[A-Z0-9]+$", err):
                    fail(path, lineno, "bad errno %r" % err)
                act = "SCMP_ACT_ERRNO(%s)" % err
            name, rest = words[0], words[1:]
            if not NAME.match(name):
                fail(path, lineno, "bad system call name %r" % name)
            conds = []
            while rest:
                if len(rest) < 3:
                    fail(path, lineno, "incomplete condition")
                arg, op, val = rest[:3]
                rest = rest[3:]
                m = re.match(r"^a([0-5])$", arg)
                if not m:
                    fail(path, lineno, "bad argument %r" % arg)
                if op.startswith("&"):
                    if val != "==" or not rest:
                        fail(path, lineno, "masked form is aN &MASK == V")
                    mask, val = op[1:], rest[0]
                    rest = rest[1:]
                    conds.append((int(m.group(1)), "SCMP_CMP_MASKED_EQ",
                                  mask, val))
                elif op in OPS:
                    conds.append((int(m.group(1)), OPS[op], None, val))
                else:
                    fail(path, lineno, "bad operator %r" % op)
            rules.append((name, conds, act, " ".join(text.split())))
    return rules


FDS = {"CHANNEL": "channel", "STATE_A": "state_a", "STATE_B": "state_b",
       "OUTPUT": "output"}


def cval(v):
    # An absent state or output fd is -1: a rule on it never matches.
    return "(scmp_datum_t)(%s)" % FDS.get(v, v)



def main():
    args = sys.argv[1:]
    role, prefix = "engine", "seccomp_policy"
    if args[:1] == ["--role"] and len(args) > 2:
        role, prefix, args = args[1], args[2], args[3:]
    if role not in ("engine", "broker") or not NAME.match(prefix) or \
            len(args) < 2:
        sys.exit("usage: gen-seccomp.py [--role broker NAME] OUT POLICY...")
    out, paths = args[0], args[1:]
    fds = FDS if role == "engine" else {}
    rules = []
    for p in paths:
        rules += parse(p)
    for name, conds, _, _ in rules:
        for _, _, mask, val in conds:
            for word in re.findall(r"[A-Z_]+", (mask or "") + val):
                if word in FDS and word not in fds:
                    sys.exit("%s: the %s's rules cannot name %s" %
                             (name, role, word))
    if not rules:
        sys.exit("no rules in %s" % " ".join(paths))
    lines = ["/* Generated from %s by scripts/gen-seccomp.py. */" %
             " ".join(paths),
             "#ifndef %s_H" % prefix.upper(), "#define %s_H" % prefix.upper(),
             "", "static const char *const %s_text[] = {" % prefix]
    for _, _, _, text in rules:
        lines.append('\t"%s",' % text.replace("\\", "\\\\").replace('"', '\\"'))
    lines += ["\tNULL,", "};", "", "#ifdef SECCOMP_POLICY_RULES", "static int"]
    if role == "engine":
        lines += ["seccomp_policy_add(scmp_filter_ctx ctx, int channel, int state_a,",
                  "\t\t   int state_b, int output)",
                  "{", "\tint r;", "",
                  "\t(void)channel;", "\t(void)state_a;", "\t(void)state_b;",
                  "\t(void)output;"]
    else:
        lines += ["%s_add(scmp_filter_ctx ctx)" % prefix,
                  "{", "\tint r;", ""]
    for name, conds, act, _ in rules:
        args = ""
        for a, op, mask, val in conds:
            # Spelled out rather than SCMP_An(): the macros leave a field
            # to chance under -Wmissing-field-initializers.
            da, db = (cval(mask), cval(val)) if mask else (cval(val), "0")
            args += (", (struct scmp_arg_cmp){.arg = %d, .op = %s, "
                     ".datum_a = %s, .datum_b = %s}" % (a, op, da, db))
        lines.append("\tr = seccomp_rule_add(ctx, %s, "
                     "SCMP_SYS(%s), %d%s);" % (act, name, len(conds), args))
        lines.append("\tif (r < 0)\n\t\treturn r;")
    lines += ["\treturn 0;", "}", "#endif", "", "#endif", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


main()
