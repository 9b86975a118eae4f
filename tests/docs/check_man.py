"""The man page cannot go stale: what `shardpack --help` lists, docs/shardpack.1 documents.

  check_man.py SHARDPACK MANPAGE

Every command of the help's "commands:" list must head a paragraph (.TP) of the man page's
COMMANDS section, and every paragraph there must be a command the CLI has (or its help
and version flags); every option of the help's "options:" list must head a paragraph of
COMMANDS or OPTIONS; the exit codes of the help's last line must be those of EXIT STATUS.
"""
import re
import subprocess
import sys


def help_sections(text):
    """{"commands": [...lines], "options": [...], "exit": "..."} from `shardpack --help`."""
    sections, current = {}, None
    for line in text.splitlines():
        if re.match(r"^[a-z ]+:$", line):
            current = line[:-1]
            sections[current] = []
        elif not line.strip():
            current = None
        elif current:
            sections[current].append(line)
        if line.startswith("exit codes:"):
            sections["exit"] = line
    return sections


def man_tags(path):
    """{SECTION: [first line after each .TP, roff escapes and font macros removed]}."""
    tags, section, after_tp = {}, None, False
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith(".SH "):
            section = line[4:].strip('"')
            tags[section] = []
        elif line.startswith(".TP"):
            after_tp = True
        elif after_tp:
            after_tp = False
            text = re.sub(r"^\.(B|I|BR|BI|RB|IR|RI|IB)\s+", "", line)
            text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace('"', " ")
            tags[section].append(text)
    return tags


def main():
    exe, page = sys.argv[1], sys.argv[2]
    helptext = subprocess.run([exe, "--help"], check=True, capture_output=True, text=True).stdout
    h = help_sections(helptext)
    tags = man_tags(page)
    problems = []

    # A command starts its line after two spaces; deeper lines continue its description.
    commands = [line.split()[0] for line in h["commands"] if re.match(r"^  \S", line)]
    assert len(commands) >= 5, "could not read the commands of --help:\n" + helptext
    heads = [t.split()[0].rstrip(",") for t in tags.get("COMMANDS", [])]
    for c in commands:
        if c not in heads:
            problems.append("command '%s' (in --help) has no paragraph in COMMANDS" % c)
    for c in heads:
        if c not in commands and c not in ("help", "--version"):
            problems.append("COMMANDS documents '%s', which --help does not list" % c)

    documented = set()
    for t in tags.get("COMMANDS", []) + tags.get("OPTIONS", []):
        documented.update(re.findall(r"(?<![\w-])--?[a-z][\w-]*", t))
    options = set()
    for line in h["options"]:
        if re.match(r"^  \S", line):
            options.update(re.findall(r"(?<![\w-])--?[a-z][\w-]*", line.split("  ")[1]))
    assert "--output" in options, "could not read the options of --help:\n" + helptext
    for o in sorted(options - documented):
        problems.append("option '%s' (in --help) has no paragraph in COMMANDS or OPTIONS" % o)

    codes = re.findall(r"(\d+) [a-z]", h.get("exit", ""))
    man_codes = [t.split()[0] for t in tags.get("EXIT STATUS", [])]
    if not codes or codes != man_codes:
        problems.append("exit codes: --help says %s, EXIT STATUS %s" % (codes, man_codes))

    for p in problems:
        print("%s: %s" % (page, p))
    if problems:
        sys.exit(1)
    print("%s documents every command (%s), option (%d) and exit code (%s) of --help"
          % (page, " ".join(commands), len(options), " ".join(codes)))


if __name__ == "__main__":
    main()
