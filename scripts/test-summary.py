#!/usr/bin/env python3
"""Count the TAP test cases of meson test logs and print 'N passed, N failed' last.

Every test program deskrun runs speaks TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, the shell
suites through tests/lib.sh), so a case is an 'ok'/'not ok' line. A program that crashed or
exited non-zero without a failing line counts as one failed case. A 'not ok ... # TODO' is a
known bug: counted apart and named, not failed; an 'ok ... # TODO' (the bug is gone) fails, so
the TODO mark is removed. Failing cases are named
again just above the count, each with the first '#' diagnostic lines printed under it, so the
tail of a CI log says what failed and why."""
import json
import re
import sys

DIAG_LINES = 12
passed = failed = skipped = todo = 0
rows = []
skips = []
todos = []
fails = []
for path in sys.argv[1:]:
    build = path.split("/")[0]
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            p = f_ = s = 0
            lines = out.splitlines()
            for i, l in enumerate(lines):
                m = re.match(r"^(not ok|ok)\b(.*)$", l.strip())
                if not m:
                    continue
                skip = re.search(r"#\s*skip", m.group(2), re.I)
                td = re.search(r"#\s*todo\b", m.group(2), re.I)
                if td:
                    desc = re.sub(r"^\s*\d+\s*-?\s*", "", m.group(2)[:td.start()]).strip()
                    if m.group(1) == "ok":
                        f_ += 1
                        fails.append((build, t["name"], "passes now, drop its TODO mark: " + m.group(2).strip()))
                    else:
                        todo += 1
                        todos.append((build, t["name"], desc, m.group(2)[td.end():].strip()))
                    continue
                if m.group(1) == "ok":
                    if skip:
                        s += 1
                        desc = re.sub(r"^\s*\d+\s*-?\s*", "", m.group(2)[:skip.start()]).strip()
                        skips.append((build, t["name"], desc, m.group(2)[skip.end():].strip()))
                    else:
                        p += 1
                else:
                    f_ += 1
                    # The diagnostics the test printed under the failing line (TAP '#'
                    # lines), a few, so the tail of a CI log says why as well as what.
                    diag = []
                    for d in lines[i + 1:]:
                        if not d.startswith("#") or len(diag) >= DIAG_LINES:
                            break
                        diag.append(d[:300])
                    fails.append((build, t["name"], m.group(2).strip()) + tuple(diag))
            if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and f_ == 0:
                f_ = 1
                fails.append((build, t["name"], f"exited {t.get('returncode')} ({t.get('result')}) without a failing case"))
            passed += p
            failed += f_
            skipped += s
            rows.append((build, t["name"], p, f_, s, t.get("result")))

w = max([len(r[0]) + len(r[1]) + 1 for r in rows] + [10])
for build, name, p, f_, s, res in rows:
    extra = f", {s} skipped" if s else ""
    print(f"  {build + ':' + name:<{w}}  {p:4d} passed, {f_} failed{extra}  [{res}]")
for build, name, desc, why in skips:
    print(f"skipped {build}:{name}: {desc}: {why}")
if skipped:
    print(f"{skipped} skipped (the lines above say why)")
for build, name, desc, why in todos:
    print(f"known bug {build}:{name}: {desc}: {why}")
if todo:
    print(f"{todo} known bugs (TAP TODO, not counted as failures; the lines above say which)")
# Failures last, just above the count, so a log's tail names them.
for build, name, desc, *diag in fails:
    print(f"FAILED {build}:{name}: {desc}")
    for d in diag:
        print(f"    {d}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
