"""What a section sends is read into aggregates only, and refused whole when it carries anything else or does not
add up."""

from __future__ import annotations

import json

import pytest

from sections.services.documents import DocumentProblem, parse_csv, parse_json
from tests.sections.conftest import KHALED, NASSIMA, as_bytes, document

pytestmark = pytest.mark.django_db


def refused(raw: bytes, parse=parse_json) -> DocumentProblem:
    with pytest.raises(DocumentProblem) as caught:
        parse(raw)
    return caught.value


def test_it_reads_the_documented_json_into_aggregates(demo_campaign):
    figures = parse_json(as_bytes(document({KHALED: {"BR": {"signature": 5, "letter": 2}, "unknown": {"letter": 1}}})))
    assert figures.counts == {KHALED: {"BR": {"letter": 2, "signature": 5}, "unknown": {"letter": 1}}}
    assert figures.by_case == {KHALED: {"letter": 3, "signature": 5}}
    assert figures.total == 8
    assert figures.generated_at is not None


def test_a_document_of_plume_before_keys_is_matched_by_campaign_and_slug(demo_campaign):
    data = document({KHALED: {"BR": {"signature": 5}}})
    del data["cases"][0]["key"]
    assert parse_json(as_bytes(data)).by_case == {KHALED: {"signature": 5}}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d.update(signers=[{"name": "Ana Lima", "email": "ana@example.org"}]), "not_aggregate"),
        (lambda d: d["cases"][0].update(emails=["ana@example.org"]), "not_aggregate"),
        (lambda d: d["cases"][0]["by_country"]["BR"].update(names=["Ana Lima"]), "not_aggregate"),
        (lambda d: d["cases"][0]["by_country"]["BR"]["by_kind"].update(letter=-4), "bad_number"),
        (lambda d: d["cases"][0]["by_country"]["BR"]["by_kind"].update(signature=10**12), "bad_number"),
        (lambda d: d["cases"][0]["by_country"]["BR"]["by_kind"].update(signature=5.5), "bad_number"),
        (lambda d: d["cases"][0]["by_country"]["BR"]["by_kind"].update(signature=True), "bad_number"),
        (lambda d: d["cases"][0]["by_country"]["BR"]["by_kind"].update(signature="5"), "bad_number"),
        (lambda d: d["cases"][0]["by_country"]["BR"]["by_kind"].update(prayer=3), "unknown_kind"),
        (lambda d: d["cases"][0]["by_country"].update(XX={"by_kind": {"letter": 1}}), "unknown_country"),
        (lambda d: d["cases"][0].update(total=999), "inconsistent"),
        (lambda d: d["cases"][0].update(by_kind={"signature": 1}), "inconsistent"),
        (lambda d: d.update(total=1), "inconsistent"),
        (lambda d: d["cases"][0].update(key="write-for-rights-2020/nobody"), "unknown_case"),
        (lambda d: d["cases"].append(dict(d["cases"][0])), "malformed"),
        (lambda d: d.update(cases={"a": 1}), "malformed"),
    ],
)
def test_it_refuses_a_document_that_is_not_aggregates_or_does_not_add_up(demo_campaign, change, code):
    data = document({KHALED: {"BR": {"signature": 5, "letter": 2}}, NASSIMA: {"PT": {"letter": 1}}})
    change(data)
    assert refused(as_bytes(data)).code == code


def test_it_refuses_what_is_not_json(demo_campaign):
    assert refused(b"<html>Maintenance</html>").code == "invalid_json"
    assert refused(b"\xff\xfe\x00garbage").code == "invalid_json"
    assert refused(b"[1, 2]").code == "malformed"


def test_cases_of_a_campaign_the_hub_does_not_have_are_left_out_and_noted(demo_campaign):
    data = document({KHALED: {"BR": {"signature": 5}}, "brasil-nacional-2020/marielle": {"BR": {"signature": 9}}})
    figures = parse_json(as_bytes(data))
    assert figures.by_case == {KHALED: {"signature": 5}}
    assert figures.notes == [{"code": "left_out", "count": 1, "detail": "brasil-nacional-2020/marielle"}]


def test_the_same_figures_have_the_same_digest_whatever_their_order_and_zeros(demo_campaign):
    one = parse_json(as_bytes(document({KHALED: {"BR": {"signature": 5, "letter": 0}, "PT": {"letter": 2}}})))
    data = document({KHALED: {"PT": {"letter": 2}, "BR": {"signature": 5}}})
    data["generated_at"] = "2026-12-11T00:00:00+00:00"
    assert parse_json(json.dumps(data, indent=2).encode()).digest == one.digest


def test_it_reads_a_csv_with_commas_or_semicolons(demo_campaign):
    comma = b"case,kind,country,count\r\n" + f"{KHALED},signature,BR,5\r\n{KHALED},letter,,2\r\n".encode()
    semicolon = "\ufeffcase;kind;country;count\n" + f"{KHALED};signature;br;5\n{KHALED};letter;;2\n"
    for raw in (comma, semicolon.encode("utf-8"), semicolon.encode("utf-8").replace(b"\xef\xbb\xbf", b"")):
        figures = parse_csv(raw)
        assert figures.counts == {KHALED: {"BR": {"signature": 5}, "unknown": {"letter": 2}}}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (f"case,kind,country,count,name\n{KHALED},letter,BR,1,Ana Lima\n", "not_aggregate"),
        (f"case,kind,country,count,email\n{KHALED},letter,BR,1,ana@example.org\n", "not_aggregate"),
        (f"case,kind,count\n{KHALED},letter,1\n", "malformed"),
        (f"case,kind,country,count\n{KHALED},letter,BR,-1\n", "bad_number"),
        (f"case,kind,country,count\n{KHALED},letter,BR,=1+2\n", "bad_number"),
        (f"case,kind,country,count\n{KHALED},letter,BR,1e12\n", "bad_number"),
        (f"case,kind,country,count\n{KHALED},letter,BR,99999999999\n", "bad_number"),
        ("case,kind,country,count\nwrite-for-rights-2020/nobody,letter,BR,1\n", "unknown_case"),
        (f"case,kind,country,count\n{KHALED},letter,Narnia,1\n", "unknown_country"),
    ],
)
def test_it_refuses_a_csv_with_more_than_aggregates_or_bad_numbers(demo_campaign, raw, code):
    assert refused(raw.encode(), parse_csv).code == code
