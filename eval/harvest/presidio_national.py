#!/usr/bin/env python3
"""Builds eval/data/national_presidio.jsonl: Presidio's national identifier recognizer tests.

From microsoft/presidio (MIT), presidio-analyzer/tests/test_<recognizer>_recognizer.py: each
`parametrize` row (text, expected count, expected positions). Labels follow warden's policy, by
rule, never case by case:

- a value Presidio expects is a label only if python-stdnum's validator (an independent
  implementation of the scheme) accepts it: Presidio also scores numbers whose check fails;
- a value of digits alone (no letters, no separator of the scheme's own written form) is one
  only after a word naming it, as warden documents; a row whose value is neither validated nor
  named is left out, not turned into a clean case;
- a row Presidio expects nothing of is a clean case, unless python-stdnum validates a number in
  it (then it is left out);
- a North American phone number (`401-023-2138`) in a row is labelled a phone number, as in
  harvest.py; a row holding one written with spaces inside a longer number is left out.

    MIRRORS=/work/.mirror python3 eval/harvest/presidio_national.py > eval/data/national_presidio.jsonl
"""
import ast, importlib, json, os, re, subprocess, sys

MIRRORS = os.environ.get("MIRRORS", "/work/.mirror")
REPO = os.path.join(MIRRORS, "microsoft+presidio", "repo")

# recognizer test -> the python-stdnum module that validates its numbers
TESTS = {
    "es_nif": "stdnum.es.nif",
    "es_nie": "stdnum.es.nie",
    "it_fiscal_code": "stdnum.it.codicefiscale",
    "pl_pesel": "stdnum.pl.pesel",
    "kr_rrn": "stdnum.kr.rrn",
    "fi_personal_identity_code": "stdnum.fi.hetu",
    "in_pan": "stdnum.in_.pan",
    "in_aadhaar": "stdnum.in_.aadhaar",
    "au_tfn": "stdnum.au.tfn",
    "us_itin": "stdnum.us.itin",
    "uk_nhs": "stdnum.gb.nhs",
}
# Words that name an identifier (warden's context words, in the row's text).
NAMED = re.compile(
    r"\b(nif|nie|dni|fiscal|codice|pesel|rrn|resident|personal identity|hetu|pan|aadhaa?r|tfn|"
    r"tax|itin|nhs|national|identity|id number|ssn|social)\b", re.I)


def git_show(path):
    return subprocess.run(["git", "-C", REPO, "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def rows(src):
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize":
            names = ast.literal_eval(node.args[0]) if node.args else ""
            if not isinstance(names, str) or not names.startswith("text"):
                continue
            try:
                yield from ast.literal_eval(node.args[1])
            except ValueError:
                continue


def positions(row):
    for item in row[1:]:
        if isinstance(item, tuple) and all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, int) for x in p) for p in item
        ):
            return list(item)
    return []


# The schemes' own written forms of digits alone, found without a word naming them.
WRITTEN = {"us_itin": r"\d{3}-\d{2}-\d{4}", "kr_rrn": r"\d{6}-\d{7}"}
# A North American phone number in another recognizer's case is one.
NANP = re.compile(r"(?<![\d-])\d{3}-\d{3}-\d{4}(?![\d-])")
NANP_SPACED = re.compile(r"\d{3} \d{3} \d{4}(?!\d)")


def digits_alone(name, value):
    own = WRITTEN.get(name)
    return re.fullmatch(r"[\d\s.\-/]+", value) is not None and not (own and re.fullmatch(own, value))


def main():
    out = []
    for name, modname in TESTS.items():
        path = f"presidio-analyzer/tests/test_{name}_recognizer.py"
        module = importlib.import_module(modname)
        src = f"presidio:{path}#{name}"

        def valid(v):
            try:
                return module.is_valid(v)
            except Exception:
                return False

        for row in rows(git_show(path)):
            text = row[0]
            if not isinstance(text, str):
                continue
            values = [text[a:b] for a, b in positions(row)]
            phones = [("PHONE", m.group(0)) for m in NANP.finditer(text)]
            if not values:
                tokens = re.findall(r"[\w-]+(?: [\w-]+)*", text)
                if any(valid(t) for t in tokens + text.split()) or NANP_SPACED.search(text):
                    continue
                out.append((src, text, phones))
                continue
            kept = [v for v in values if valid(v) and (not digits_alone(name, v) or NAMED.search(text))]
            if len(kept) != len(values):
                continue
            out.append((src, text, [("NATIONAL_ID", v) for v in kept] + phones))
    for src, text, values in out:
        print(json.dumps({"source": src, "text": text,
                          "pii": [[k, v] for k, v in values]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
