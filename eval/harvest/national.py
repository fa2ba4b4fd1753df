#!/usr/bin/env python3
"""Builds eval/data/national.jsonl: national identifier cases for warden's evaluation.

Valid numbers are found by a seeded random search, each candidate checked with python-stdnum's
validators (an independent implementation of the schemes: `pip install python-stdnum`), then
written as their schemes write them, in a sentence that names them (the scheme's own word, and
"national id"), under a key (`national_id=`, `"tax_id":`), and bare where the written form is
distinctive. A number with a wrong check digit and no word naming it is a clean case. No data
is copied from python-stdnum; it only says which generated numbers are valid. Deterministic:
the same run writes the same file.

    python3 eval/harvest/national.py > eval/data/national.jsonl
"""
import json, random, string, sys
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.de import idnr
from stdnum.fr import nir
from stdnum.ro import cnp
from stdnum.bg import egn
from stdnum.tr import tckimlik
from stdnum.jp import in_ as mynumber
from stdnum.in_ import aadhaar, pan
from stdnum.il import idnr as ilid
from stdnum.hr import oib
from stdnum.gr import amka
from stdnum.ca import sin
from stdnum.za import idnr as zaid
from stdnum.br import cpf, cnpj
from stdnum.no import fodselsnummer
from stdnum.se import personnummer
from stdnum.ee import ik
from stdnum.be import nn
from stdnum.pt import nif
from stdnum.cz import rc
from stdnum.gb import nhs
from stdnum.au import tfn
from stdnum.kr import rrn
from stdnum.cn import ric
from stdnum.dk import cpr
from stdnum.fi import hetu
from stdnum.es import dni, nie
from stdnum.it import codicefiscale
from stdnum.cl import rut
from stdnum.mx import curp
from stdnum.lt import asmens

R = random.Random(20261206)
D = string.digits

def search(module, gen, tries=200000):
    for _ in range(tries):
        c = gen()
        try:
            ok = module.is_valid(c)
        except Exception:
            ok = False
        if ok:
            return c
    raise SystemExit(f"no valid number for {module.__name__}")

def digits(n):
    return "".join(R.choice(D) for _ in range(n))

def date6():
    return "%02d%02d%02d" % (R.randint(1, 28), R.randint(1, 12), R.randint(0, 99))

def ymd6():
    return "%02d%02d%02d" % (R.randint(0, 99), R.randint(1, 12), R.randint(1, 28))

# scheme: (module, generator, formatter, own context word, bare?)
SCHEMES = {
    "BSN": (bsn, lambda: digits(9), lambda n: n, "BSN", False),
    "PESEL": (pesel, lambda: "%02d%02d%02d" % (R.randint(0, 99), R.randint(1, 12), R.randint(1, 28)) + digits(5), lambda n: n, "PESEL", False),
    "Steuer-IdNr": (idnr, lambda: str(R.randint(1, 9)) + digits(10), lambda n: n, "Steuer-ID", False),
    "NIR": (nir, lambda: R.choice("12") + digits(14), lambda n: n, "numero de securite sociale", False),
    "CNP": (cnp, lambda: R.choice("1256") + ymd6() + digits(6), lambda n: n, "CNP", False),
    "EGN": (egn, lambda: ymd6() + digits(4), lambda n: n, "EGN", False),
    "TCKN": (tckimlik, lambda: str(R.randint(1, 9)) + digits(10), lambda n: n, "TC kimlik no", False),
    "MyNumber": (mynumber, lambda: digits(12), lambda n: n, "mynumber", False),
    "Aadhaar": (aadhaar, lambda: str(R.randint(2, 9)) + digits(11), lambda n: n[:4] + " " + n[4:8] + " " + n[8:], "Aadhaar", False),
    "IL ID": (ilid, lambda: digits(9), lambda n: n, "teudat zehut", False),
    "OIB": (oib, lambda: digits(11), lambda n: n, "OIB", False),
    "AMKA": (amka, lambda: date6() + digits(5), lambda n: n, "AMKA", False),
    "SIN": (sin, lambda: str(R.randint(1, 7)) + digits(8), lambda n: n[:3] + " " + n[3:6] + " " + n[6:], "SIN", False),
    "ZA ID": (zaid, lambda: ymd6() + digits(7), lambda n: n, "identity number", False),
    "CPF": (cpf, lambda: digits(11), lambda n: f"{n[:3]}.{n[3:6]}.{n[6:9]}-{n[9:]}", "CPF", True),
    "CNPJ": (cnpj, lambda: digits(8) + "0001" + digits(2), lambda n: f"{n[:2]}.{n[2:5]}.{n[5:8]}/{n[8:12]}-{n[12:]}", "CNPJ", True),
    "NO FNR": (fodselsnummer, lambda: date6() + digits(5), lambda n: n, "fodselsnummer", False),
    "SE PNR": (personnummer, lambda: ymd6() + "-" + digits(4), lambda n: n, "personnummer", True),
    "EE IK": (ik, lambda: R.choice("3456") + ymd6() + digits(4), lambda n: n, "isikukood", False),
    "LT AK": (asmens, lambda: R.choice("3456") + ymd6() + digits(4), lambda n: n, "asmens kodas", False),
    "BE NN": (nn, lambda: ymd6() + digits(5), lambda n: n, "national number", False),
    "PT NIF": (nif, lambda: R.choice("123") + digits(8), lambda n: n, "NIF", False),
    "CZ RC": (rc, lambda: ymd6() + "/" + digits(4), lambda n: n[:6] + "/" + n[6:], "rodne cislo", True),
    "NHS": (nhs, lambda: digits(10), lambda n: n[:3] + " " + n[3:6] + " " + n[6:], "NHS number", False),
    "TFN": (tfn, lambda: digits(9), lambda n: n, "TFN", False),
    "RRN": (rrn, lambda: ymd6() + "-" + R.choice("1234") + digits(6), lambda n: n[:6] + "-" + n[6:], "RRN", True),
    "CN RIC": (ric, lambda: "110105" + "19%02d%02d%02d" % (R.randint(50, 99), R.randint(1, 12), R.randint(1, 28)) + digits(4), lambda n: n, "resident identity number", False),
    "CPR": (cpr, lambda: date6() + digits(4), lambda n: n[:6] + "-" + n[6:], "CPR", False),
    "HETU": (hetu, lambda: date6() + "-" + digits(3) + R.choice("0123456789ABCDEFHJKLMNPRSTUVWXY"), lambda n: n, "henkilotunnus", True),
    "DNI": (dni, lambda: digits(8) + R.choice(string.ascii_uppercase), lambda n: n, "DNI", True),
    "NIE": (nie, lambda: R.choice("XYZ") + digits(7) + R.choice(string.ascii_uppercase), lambda n: n, "NIE", True),
    "RUT": (rut, lambda: digits(8) + R.choice(D + "K"), lambda n: f"{n[:2]}.{n[2:5]}.{n[5:8]}-{n[8:]}", "RUT", True),
}

cases = []
def add(text, value=None):
    cases.append({"source": "generated:national", "text": text, "pii": [["NATIONAL_ID", value]] if value else []})

for name, (module, gen, fmt, word, bare) in SCHEMES.items():
    for k in range(6):
        number = module.compact(search(module, gen))
        written = fmt(number)
        if k == 0:
            add(f"my {word} is {written}", written)
        elif k == 1:
            add(f"national id {written} on file", written)
        elif k == 2:
            add(f"national_id={written} status=verified", written)
        elif k == 3:
            add(f'{{"tax_id": "{written}", "country": "x"}}', written)
        elif k == 4 and bare:
            add(f"customer {written} registered", written)
        elif k == 5:
            # a wrong check digit, no context word: left alone
            last = number[-1]
            wrong = number[:-1] + (str((int(last) + 1) % 10) if last.isdigit() else ("A" if last != "A" else "B"))
            try:
                still = module.is_valid(wrong)
            except Exception:
                still = False
            if not still:
                add(f"order {wrong} shipped")

for c in cases:
    print(json.dumps(c, ensure_ascii=False))
