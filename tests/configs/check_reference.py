"""configs/reference.ini must use every stage `shardpack stages` lists, so it stays the
one config that shows all of them.

  check_reference.py SHARDPACK REFERENCE_INI
"""
import configparser
import re
import subprocess
import sys

exe, ini = sys.argv[1], sys.argv[2]
listed = set(re.findall(r"^## `([a-z0-9_]+)`", subprocess.run(
    [exe, "stages", "--markdown"], check=True, capture_output=True, text=True).stdout, re.M))
assert len(listed) > 10, listed
cfg = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
cfg.read(ini)
used = {cfg[s].get("type", s) for s in cfg.sections() if s != "run"}
missing = sorted(listed - used)
if missing:
    sys.exit("%s does not use: %s" % (ini, ", ".join(missing)))
print("%s uses all %d stages" % (ini, len(listed)))
