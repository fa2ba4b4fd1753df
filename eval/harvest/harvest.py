#!/usr/bin/env python3
"""Builds eval/data/gathered.jsonl from other scanners' and libraries' public test suites.

Run from the repository root with mirrors of the source repositories (see eval/data/README.md):

    MIRRORS=/path/to/mirrors python3 eval/harvest/harvest.py

Each output line is one case: {"source", "text", "pii": [[KIND, value], ...]}; an empty `pii`
list means nothing in the text may be redacted. Labels follow warden's documented policy where
it differs from the source's (each such rule is named in the README), never per case.
"""
import ast
import json
import os
import re
import subprocess
import sys

MIRRORS = os.environ.get("MIRRORS", "/work/.mirror")
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "gathered.jsonl")


def git_show(repo, path):
    d = os.path.join(MIRRORS, repo, "repo")
    return subprocess.run(["git", "-C", d, "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_head(repo):
    d = os.path.join(MIRRORS, repo, "repo")
    return subprocess.run(["git", "-C", d, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


cases = []


def add(source, text, pii):
    cases.append({"source": source, "text": text, "pii": [[k, v] for k, v in pii]})


# --- Presidio (MIT): recognizer tests -------------------------------------------------------
def parametrize_lists(src):
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize":
            if len(node.args) >= 2:
                try:
                    yield ast.literal_eval(node.args[1])
                except ValueError:
                    continue


def positions_of(row):
    for item in row[1:]:
        if isinstance(item, tuple) and item and all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, int) for x in p) for p in item
        ):
            return list(item)
    return None


LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|0\.0\.0\.0|::1?|::ffff:(127|0)\.\d+\.\d+\.\d+)$")
NANP = re.compile(r"(?<![\d-])\d{3}-\d{3}-\d{4}(?![\d-])")

PRESIDIO = {
    "credit_card": "CREDIT_CARD",
    "email": "EMAIL",
    "iban": "IBAN",
    "ip": "IP_ADDRESS",
    "mac": "MAC_ADDRESS",
    "phone": "PHONE",
    "us_ssn": "SSN",
    "us_passport": "PASSPORT",
}
SSN_DELIMITED = re.compile(r"^\d{3}([-. ])\d{2}\1\d{4}$")
MAC = re.compile(r"\b[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\b")
CONTEXT = re.compile(
    r"\b(ssn|social security|tax|itin|passport|travel document|phone|mobile|call|tel|card)\b", re.I
)

for name, kind in PRESIDIO.items():
    path = f"presidio-analyzer/tests/test_{name}_recognizer.py"
    src = git_show("microsoft+presidio", path)
    for block_no, rows in enumerate(parametrize_lists(src)):
        if name == "phone" and block_no > 0:
            break  # later blocks depend on a leniency setting
        for row in rows:
            text = row[0]
            if not isinstance(text, str):
                continue
            count = row[1] if isinstance(row[1], int) else None
            pos = positions_of(row)
            if pos is None and count:
                if count == 1 and kind in ("IBAN", "CREDIT_CARD", "IP_ADDRESS"):
                    pos = [(0, len(text))]
                else:
                    continue
            values = [text[a:b] for a, b in (pos or [])]
            # Policy: loopback and unspecified addresses identify no one.
            values = [v for v in values if not (kind == "IP_ADDRESS" and LOOPBACK.match(v))]
            # Policy: a 9-digit number written other than AAA-GG-SSSS is an SSN, and a
            # passport number is one, only after a context word.
            if kind in ("SSN", "PASSPORT") and not CONTEXT.search(text):
                values = [v for v in values if kind == "SSN" and SSN_DELIMITED.match(v)]
            # Policy: five or more dotted parts are a version or an OID, not an address.
            if kind == "IP_ADDRESS" and re.search(r"\d+(\.\d+){4}", text):
                values = []
            pii = [(kind, v) for v in values]
            # A phone number in another recognizer's negative case is still one.
            if kind != "PHONE":
                pii += [("PHONE", m.group(0)) for m in NANP.finditer(text)]
            # A MAC address in another recognizer's negative case is still one.
            for m in MAC.finditer(text):
                if kind != "MAC_ADDRESS" and m.group(0).lower() not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
                    pii.append(("MAC_ADDRESS", m.group(0)))
            add(f"presidio:{path}", text, pii)
            continue
            add(f"presidio:{path}", text, [(kind, v) for v in values])

ctx = git_show("microsoft+presidio", "presidio-analyzer/tests/data/context_sentences_tests.txt")
CTX_KINDS = {"IP_ADDRESS": "IP_ADDRESS", "US_SSN": "SSN", "PHONE_NUMBER": "PHONE", "US_ITIN": "SSN"}
lines = [l for l in ctx.splitlines() if l.strip() and not l.startswith("#")]
for entity, sentence in zip(lines[0::2], lines[1::2]):
    kind = CTX_KINDS.get(entity.strip())
    if not kind:
        continue
    # The value: the digits (with separators, parentheses) after the context.
    vals = re.findall(r"[\d(][\d() .-]*\d", sentence)
    if kind == "IP_ADDRESS":
        vals = re.findall(r"\d+\.\d+\.\d+\.\d+", sentence)
    if "ssid" in sentence or "ssns" in sentence:
        continue  # near-miss context words a person would still read as SSN; ambiguous
    add("presidio:presidio-analyzer/tests/data/context_sentences_tests.txt", sentence,
        [(kind, v.strip()) for v in vals])

# --- detect-secrets (Apache-2.0): keyword and JWT tests --------------------------------------
src = git_show("Yelp+detect-secrets", "tests/plugins/keyword_test.py")
head = src.split("def parse_test_cases")[0]
head = "\n".join(l for l in head.splitlines()
                 if not l.startswith(("from detect_secrets", "import pytest")))
ns = {}
exec(head, ns)
for list_name in ["CONFIG_TEST_CASES", "GOLANG_TEST_CASES", "COMMON_C_TEST_CASES",
                  "C_PLUS_PLUS_TEST_CASES", "QUOTES_REQUIRED_TEST_CASES"]:
    for line, secret in ns[list_name]:
        if len(line) > 1000:
            continue
        # Out of scope: the value before the key (`if ("x" == password)`) is source code,
        # not a log or config line.
        if re.match(r'^if \("', line):
            continue
        if secret is None:
            # Only the negatives that hold for logs too: an empty value or a ${…} reference.
            if re.search(r'(=|:)\s*(""|\'\')\s*$', line) or re.search(r"\$\{\w+\}", line):
                add(f"detect-secrets:tests/plugins/keyword_test.py#{list_name}", line, [])
            continue
        add(f"detect-secrets:tests/plugins/keyword_test.py#{list_name}", line, [("SECRET", secret)])

src = git_show("Yelp+detect-secrets", "tests/plugins/jwt_test.py")
for rows in parametrize_lists(src):
    for payload, flag in rows:
        add("detect-secrets:tests/plugins/jwt_test.py", f"auth header carried {payload} today",
            [("JWT", payload)] if flag else [])

# --- gitleaks (MIT): the sample-secret templates of its rule generator ----------------------
src = git_show("gitleaks+gitleaks", "cmd/generate/config/utils/generate.go")
body = src.split("samples := map[string]string{")[1].split("\n\t}\n")[0]
templates = []
for m in re.finditer(r'^\s*"([^"]+)":\s*(".*"|`.*`),\s*$', body, re.M):
    raw = m.group(2)
    t = ast.literal_eval(raw) if raw.startswith('"') else raw[1:-1]
    templates.append((m.group(1), t))
IDENTIFIERS = ["github", "stripe", "slack", "sendgrid", "twilio", "heroku", "datadog", "mailgun"]
SECRETS = ["9b2a7c1e44f0d3a85e6b7c9d0e1f2a3b", "Zx81kq0pL2mN4vB6cX8zA1sD3fG5hJ7k",
           "pk_9f8e7d6c5b4a3f2e1d0c", "Q29uZmlkZW50aWFsMTIzNDU2Nzg5MA=="]
for k, (label, t) in enumerate(templates):
    for j, ident in enumerate(IDENTIFIERS[:4]):
        s = SECRETS[(k + j) % len(SECRETS)]
        text = t.replace("{i}", ident).replace("{I}", ident.upper()).replace("{s}", s)
        add(f"gitleaks:cmd/generate/config/utils/generate.go#{label}", text, [("SECRET", s)])
# gitleaks' false-positive samples: placeholders, never secrets.
fps = set()
for path in subprocess.run(["git", "-C", os.path.join(MIRRORS, "gitleaks+gitleaks", "repo"),
                            "ls-tree", "-r", "--name-only", "HEAD", "cmd/generate/config/rules"],
                           check=True, capture_output=True, text=True).stdout.split():
    rule = git_show("gitleaks+gitleaks", path)
    for block in re.findall(r"fps := \[\]string\{(.*?)\n\t\}", rule, re.S):
        for s in re.findall(r'^\s*"((?:[^"\\]|\\.)*)",', block, re.M):
            s = ast.literal_eval('"' + s + '"')
            if len(s) < 200 and re.search(r"(?i)x{6,}|\*{6,}|example|placeholder|<|\$\{|your", s):
                fps.add((path, s))
for path, s in sorted(fps):
    add(f"gitleaks:{path}#fps", s, [])

# --- libphonenumber (Apache-2.0): each region's example numbers -----------------------------
import phonenumbers  # noqa: E402  (pip: phonenumbers, the Python port of libphonenumber)
from phonenumbers import PhoneNumberFormat, PhoneNumberType  # noqa: E402

xml = git_show("google+libphonenumber", "resources/PhoneNumberMetadata.xml")
TYPES = {"fixedLine": PhoneNumberType.FIXED_LINE, "mobile": PhoneNumberType.MOBILE}
INTL_CONTEXTS = ["Customer reached us from {p} about the refund.",
                 "callback requested: {p}",
                 "SMS delivery to {p} failed (carrier timeout)",
                 "contact={p} status=verified"]
NATIONAL_CONTEXTS = ["please call me on {p} tomorrow", "Phone: {p}", "mobile {p} (verified)",
                     "tel. {p}"]
n = 0
for m in re.finditer(r'<territory id="([A-Z0-9]+)"(.*?)</territory>', xml, re.S):
    region, body = m.group(1), m.group(2)
    if region == "001":
        continue
    for tname, ttype in TYPES.items():
        em = re.search(rf"<{tname}>.*?<exampleNumber>(\d+)</exampleNumber>", body, re.S)
        if not em:
            continue
        num = phonenumbers.parse(em.group(1), region)
        intl = phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
        add(f"libphonenumber:resources/PhoneNumberMetadata.xml#{region}/{tname}",
            INTL_CONTEXTS[n % len(INTL_CONTEXTS)].format(p=intl), [("PHONE", intl)])
        national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
        digits = re.sub(r"\D", "", national)
        # National forms: where a person writes them with a trunk 0 or NANP grouping, and long
        # enough to be told from other numbers (7+ digits).
        if len(digits) >= 7 and re.fullmatch(r"[\d ()./-]+", national):
            add(f"libphonenumber:resources/PhoneNumberMetadata.xml#{region}/{tname}/national",
                NATIONAL_CONTEXTS[n % len(NATIONAL_CONTEXTS)].format(p=national),
                [("PHONE", national)])
        n += 1

with open(OUT, "w", encoding="utf-8") as f:
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
heads = {r: git_head(r) for r in ["microsoft+presidio", "Yelp+detect-secrets", "gitleaks+gitleaks",
                                   "google+libphonenumber"]}
print(f"{len(cases)} cases written to {OUT}", file=sys.stderr)
for r, h in heads.items():
    print(f"  {r.replace('+', '/')} @ {h}", file=sys.stderr)
