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
from stdnum.us import itin
from stdnum.es import cif, nif as esnif
from stdnum.mx import rfc

R = random.Random(20261206)
D = string.digits
U = string.ascii_uppercase

class Rule:
    """A scheme python-stdnum does not have, checked by its published rule."""
    def __init__(self, name, valid):
        self.__name__, self.is_valid = name, valid
    def compact(self, n):
        return n.replace(" ", "")

def nino_valid(n):
    n = n.replace(" ", "")
    return (len(n) == 9 and n[0] not in "DFIQUV" and n[1] not in "DFIOQUV"
            and n[:2] not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ")
            and n[2:8].isdigit() and n[8] in "ABCD")

def nric_valid(n):
    if len(n) != 9 or n[0] not in "STFG" or not n[1:8].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(n[1:8], (2, 7, 6, 5, 4, 3, 2))) + (4 if n[0] in "TG" else 0)
    letters = "JZIHGFEDCBA" if n[0] in "ST" else "XWUTRQPNMLK"
    return n[8] == letters[total % 11]

def medicare_valid(n):
    return (len(n) == 10 and n.isdigit() and n[0] in "23456"
            and sum(int(c) * w for c, w in zip(n[:8], (1, 3, 7, 9, 1, 3, 7, 9))) % 10 == int(n[8]))

def letters(n):
    return "".join(R.choice(U) for _ in range(n))

def rfc_checked(n):
    return rfc.is_valid(n, validate_check_digits=True)
RFC = Rule("stdnum.mx.rfc (check digits)", rfc_checked)

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
    "SIN": (sin, lambda: str(R.randint(1, 7)) + digits(8), lambda n: n[:3] + " " + n[3:6] + " " + n[6:], "SIN", True),
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
    "ITIN": (itin, lambda: "9" + digits(2) + R.choice(["7", "8"]) + digits(5), lambda n: f"{n[:3]}-{n[3:5]}-{n[5:]}", "ITIN", True),
    "ES CIF": (cif, lambda: R.choice("ABCDEFGHJNPQRSUVW") + digits(7) + R.choice(D + "ABCDEFGHIJ"), lambda n: n, "CIF", False),
    "ES NIF KLM": (esnif, lambda: R.choice("KLM") + digits(7) + R.choice(U), lambda n: n, "NIF", True),
    "IT CF": (codicefiscale, lambda: letters(6) + digits(2) + R.choice("ABCDEHLMPRST") + "%02d" % R.choice(list(range(1, 29)) + list(range(41, 69))) + R.choice(U) + digits(3) + R.choice(U), lambda n: n, "codice fiscale", True),
    "MX CURP": (curp, lambda: letters(4) + ymd6() + R.choice("HM") + R.choice(["JC", "DF", "NL", "MC", "GT"]) + "".join(R.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(3)) + R.choice(D) + R.choice(D), lambda n: n, "CURP", True),
    "MX RFC": (RFC, lambda: letters(R.choice([3, 4])) + ymd6() + R.choice("123456789ABCDEFGHIJKLMNPRSTUV") + R.choice("123456789ABCDEFGHIJKLMNPQRSTUVWXYZ") + R.choice(D + "A"), lambda n: n, "RFC", True),
    "IN PAN": (pan, lambda: letters(3) + R.choice("ABCFGHLJPT") + R.choice(U) + digits(4) + R.choice(U), lambda n: n, "PAN", True),
    "UK NINO": (Rule("NINO", nino_valid), lambda: letters(2) + digits(6) + R.choice("ABCD"), lambda n: f"{n[:2]} {n[2:4]} {n[4:6]} {n[6:8]} {n[8]}", "National Insurance number", True),
    "SG NRIC": (Rule("NRIC", nric_valid), lambda: R.choice("STFG") + digits(7) + R.choice(U), lambda n: n, "NRIC", True),
    "AU Medicare": (Rule("Medicare", medicare_valid), lambda: R.choice("23456") + digits(9), lambda n: f"{n[:4]} {n[4:9]} {n[9]}", "Medicare", False),
}

cases = []
def add(source, text, value=None):
    cases.append({"source": source, "text": text, "pii": [["NATIONAL_ID", value]] if value else []})

def wrong_check(module, number):
    """`number` with its last character changed, if that makes it invalid."""
    last = number[-1]
    for other in (D if last.isdigit() else U):
        wrong = number[:-1] + other
        if wrong == number:
            continue
        try:
            still = module.is_valid(wrong)
        except Exception:
            still = False
        if not still:
            return wrong
    return None

INVALID_FORMS = ["order {} shipped", "txn {} ok", "[{}] done", "batch={} size=3"]

for name, (module, gen, fmt, word, bare) in SCHEMES.items():
    src = f"generated:national#{name}"
    for k in range(15):
        number = module.compact(search(module, gen))
        written = fmt(number)
        form = k % 5
        if form == 0:
            add(src, f"my {word} is {written}", written)
        elif form == 1:
            add(src, f"national id {written} on file", written)
        elif form == 2:
            add(src, f"national_id={written} status=verified" if " " not in written
                else f"national_id: {written}", written)
        elif form == 3:
            add(src, f'{{"tax_id": "{written}", "country": "x"}}', written)
        elif bare:
            add(src, f"customer {written} registered", written)
        # A wrong check digit, no word naming it: left alone (but for the
        # NHS number, whose 3-3-4 groups are a North American phone
        # number's: that is what it then is).
        wrong = wrong_check(module, number)
        if wrong and name != "NHS":
            add("generated:national#invalid", INVALID_FORMS[k % len(INVALID_FORMS)].format(fmt(wrong)))

for c in cases:
    print(json.dumps(c, ensure_ascii=False))
