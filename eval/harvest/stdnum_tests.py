#!/usr/bin/env python3
"""Builds eval/data/national_stdnum.jsonl: the national identifiers of python-stdnum's test files.

python-stdnum's tests (tests/test_<cc>_<scheme>.doctest, LGPL-2.1-or-later) list numbers "found
online" for each scheme, written as they were found (spaces, dots, dashes). Each listed number
that python-stdnum itself validates is taken as written, in three cases: after a word naming its
scheme (in English or its own language), under a JSON key naming a national or tax identifier,
and after "national id" ("ID number" alone is too common a phrase to name an identifier of
digits alone). A number the file lists as invalid whose length is right (so only its
check fails) is written without a word naming it, as a clean case. Deterministic.

    git -C python-stdnum archive HEAD tests | tar -x -C /tmp/stdnum
    python3 eval/harvest/stdnum_tests.py /tmp/stdnum/tests > eval/data/national_stdnum.jsonl
"""
import importlib, json, os, re, sys

# test file -> (stdnum module, the words that name it, at most this many valid cases)
SCHEMES = {
    "au_tfn": ("stdnum.au.tfn", ["TFN", "tax file number"]),
    "be_nn": ("stdnum.be.nn", ["rijksregisternummer", "numéro national"]),
    "bg_egn": ("stdnum.bg.egn", ["EGN", "ЕГН"]),
    "br_cnpj": ("stdnum.br.cnpj", ["CNPJ"]),
    "cl_rut": ("stdnum.cl.rut", ["RUT", "RUN"]),
    "cn_ric": ("stdnum.cn.ric", ["resident identity card", "身份证号"]),
    "cz_rc": ("stdnum.cz.rc", ["rodné číslo", "RČ"]),
    "de_idnr": ("stdnum.de.idnr", ["Steuer-ID", "Steueridentifikationsnummer"]),
    "ee_ik": ("stdnum.ee.ik", ["isikukood"]),
    "es_nif": ("stdnum.es.nif", ["NIF", "DNI"]),
    "fi_hetu": ("stdnum.fi.hetu", ["henkilötunnus", "HETU"]),
    "gr_amka": ("stdnum.gr.amka", ["AMKA", "ΑΜΚΑ"]),
    "in_pan": ("stdnum.in_.pan", ["PAN"]),
    "it_codicefiscale": ("stdnum.it.codicefiscale", ["codice fiscale"]),
    "kr_rrn": ("stdnum.kr.rrn", ["RRN", "주민등록번호"]),
    "lt_asmens": ("stdnum.lt.asmens", ["asmens kodas"]),
    "mx_curp": ("stdnum.mx.curp", ["CURP"]),
    "mx_rfc": ("stdnum.mx.rfc", ["RFC"]),
    "no_fodselsnummer": ("stdnum.no.fodselsnummer", ["fødselsnummer"]),
    "se_personnummer": ("stdnum.se.personnummer", ["personnummer"]),
    "tr_tckimlik": ("stdnum.tr.tckimlik", ["T.C. kimlik no", "TCKN"]),
    "za_idnr": ("stdnum.za.idnr", ["identity number", "identiteitsnommer"]),
}
PER_SCHEME = 40

def candidates(text):
    """Numbers listed in `numbers = '''...'''` blocks, and quoted arguments of calls."""
    found = []
    block = False
    for line in text.splitlines():
        if re.match(r">>> \w+ = '''", line):
            block = True
            continue
        if block:
            if line.startswith("... '''"):
                block = False
            elif line.startswith("... "):
                value = line[4:].strip()
                if value:
                    found.append(value)
            continue
        for m in re.finditer(r"\b\w+\('([^']+)'", line):
            found.append(m.group(1))
    return found

def main(tests):
    cases = []
    for name, (modname, words) in SCHEMES.items():
        path = os.path.join(tests, f"test_{name}.doctest")
        if not os.path.exists(path):
            sys.exit(f"{path}: missing")
        module = importlib.import_module(modname)
        src = f"python-stdnum:tests/test_{name}.doctest#{name}"
        valid, invalid, seen = [], [], set()
        for value in candidates(open(path, encoding="utf-8").read()):
            if value in seen or "\\" in value:
                continue
            seen.add(value)
            try:
                ok = module.is_valid(value)
            except Exception:
                ok = False
            if ok:
                valid.append(value)
            else:
                invalid.append(value)
        if not valid:
            sys.exit(f"{name}: no valid number")
        for k, value in enumerate(valid[:PER_SCHEME]):
            word = words[k % len(words)]
            form = k % 3
            if form == 0:
                cases.append((src, f"{word}: {value}", value))
            elif form == 1:
                cases.append((src, json.dumps({"national_id": value, "status": "ok"}, ensure_ascii=False), value))
            else:
                cases.append((src, f"customer national id {value} on file", value))
        # Invalid numbers of the right length, with no word naming them.
        lengths = {len(module.compact(v)) for v in valid}
        wrong = []
        for value in invalid:
            try:
                compact = module.compact(value)
            except Exception:
                continue
            if len(compact) in lengths and compact.isalnum():
                wrong.append(value)
        for value in wrong[:10]:
            cases.append((f"python-stdnum:tests/test_{name}.doctest#invalid", f"order {value} shipped", None))
    for src, text, value in cases:
        print(json.dumps({"source": src, "text": text, "pii": [["NATIONAL_ID", value]] if value else []}, ensure_ascii=False))

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests")
