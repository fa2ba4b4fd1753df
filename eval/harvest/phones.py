#!/usr/bin/env python3
"""Builds eval/data/phones_by_region.jsonl: the national-format phone numbers of every region.

From libphonenumber's metadata (the `phonenumbers` package on PyPI, Apache-2.0): each region's
example number of each type and up to five more of the same type (its last digits replaced,
each checked valid by the package), written in national format (trunk prefix, area code, the groups as
the region's plan writes them, short plans' five digits included), after a context word and
under a phone-named key (a number of four digits, in the smallest plans, under a key only: in a
sentence four digits are a year or a count). Deterministic.

    python3 eval/harvest/phones.py > eval/data/phones_by_region.jsonl
"""
import json, random, sys
import phonenumbers
from phonenumbers import PhoneNumberType as T, PhoneNumberFormat as F

TYPES = [T.FIXED_LINE, T.MOBILE, T.FIXED_LINE_OR_MOBILE, T.TOLL_FREE, T.VOIP, T.PERSONAL_NUMBER, T.UAN]
R = random.Random(20261206)
PER_TYPE = 6

def variants(example):
    """Valid numbers of the example's type: its last digits replaced, each checked."""
    found, seen = [example], {example.national_number}
    digits = str(example.national_number)
    for _ in range(400):
        if len(found) >= PER_TYPE:
            break
        k = min(4, max(1, len(digits) - 3))
        candidate = digits[:-k] + "".join(R.choice("0123456789") for _ in range(k))
        try:
            n = phonenumbers.parse("+%d%s" % (example.country_code, candidate))
        except phonenumbers.NumberParseException:
            continue
        if n.national_number in seen or not phonenumbers.is_valid_number(n):
            continue
        if phonenumbers.number_type(n) != phonenumbers.number_type(example):
            continue
        seen.add(n.national_number)
        found.append(n)
    return found

SENTENCES = ["call me on {} today", "my phone number is {}", "tel: {}"]
KEYS = ["phone={} status=ok", '{{"mobile": "{}"}}', "contact_phone: {}"]

cases = []
for region in sorted(phonenumbers.SUPPORTED_REGIONS):
    seen = set()
    src = f"libphonenumber:metadata#{region}"
    k = 0
    for t in TYPES:
        n = phonenumbers.example_number_for_type(region, t)
        if n is None:
            continue
        for v in variants(n):
            national = phonenumbers.format_number(v, F.NATIONAL)
            if national in seen:
                continue
            seen.add(national)
            # Four digits in a sentence are a year or a count: the smallest plans'
            # numbers are written under a key only.
            if sum(c.isdigit() for c in national) >= 5:
                cases.append({"source": src, "text": SENTENCES[k % 3].format(national), "pii": [["PHONE", national]]})
            cases.append({"source": src, "text": KEYS[k % 3].format(national), "pii": [["PHONE", national]]})
            k += 1
for c in cases:
    print(json.dumps(c, ensure_ascii=False))
