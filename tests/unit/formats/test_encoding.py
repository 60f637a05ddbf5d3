"""Encoding detection and streaming decoding."""

import codecs

import pytest

from tximport.formats.base import UNSUPPORTED_ENCODING, BytesSource, FileError
from tximport.formats.encoding import SAMPLE_SIZE, detect_encoding, nfc, open_text
from tximport.formats.tabular import parse_tabular_3col

from .helpers import errors, lines, run

GERMAN = "Datum;Text;Betrag\n31.12.2024;Überweisung Müller Straße;-1.234,56\n01.12.2024;Gebühr;-2,50\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + b"a,b", "utf-8-sig"),
        ("a,b\n".encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + "a,b".encode("utf-16-be"), "utf-16"),
        ("a,b\n".encode("utf-32"), "utf-32"),
        ("date,amount\n2024-01-01,1\n".encode("utf-16-le"), "utf-16-le"),
        ("date,amount\n2024-01-01,1\n".encode("utf-16-be"), "utf-16-be"),
        (b"plain ascii", "utf-8"),
        ("Grüße".encode(), "utf-8"),
    ],
)
def test_detect_encoding(data: bytes, expected: str) -> None:
    assert detect_encoding(data, complete=True) == expected


def test_cp1252_is_detected_from_a_sample() -> None:
    encoding = detect_encoding(GERMAN.encode("cp1252") * 3, complete=True)
    assert GERMAN.encode("cp1252").decode(encoding) == GERMAN


#: a Hungarian bank's `:86:` texts (qa42b: a Raiffeisen MT940 written in cp852, read as cp1252 `napi ”sszevont ut nv‚t`)
HUNGARIAN = ("Csoportos átutalás jóváírása\nUV, napi összevont utánvét, 2018.04.17\nBankon belüli átutalás\n"
             "Deviza átutalás\nDíj, jutalék\n")


@pytest.mark.parametrize(("text", "written_in", "read_in"), [
    (HUNGARIAN, "cp852", "cp852"),
    ("Virement reçu; Prélèvement électricité; Retrait Genève; Intérêts créditeurs; Loyer août; très", "cp850",
     "cp850"),
    ("Transferencia recibida; Comisión de mantenimiento; Retirada de cajero Málaga; Señor Muñoz", "cp437",
     "cp850"),  # (cp850 and cp437 write these letters alike)
])
def test_a_dos_code_page_is_read_as_written(text: str, written_in: str, read_in: str) -> None:
    data = text.encode(written_in)
    assert detect_encoding(data, complete=True) == read_in
    assert data.decode(read_in) == text


@pytest.mark.parametrize(("text", "encoding"), [
    # every accent a letter in cp852 too, with what Windows text puts inside words: ’ – and a no-break space
    ("Société\xa0Générale; l’été; Jean–Paul Crédit; Conceição; Informação; Saldo à régler", "cp1252"),
    ("Overførsel; Søren Ærø; Hævning Århus", "cp1252"),
    (HUNGARIAN, "cp1250"),
    (HUNGARIAN, "iso8859_2"),
    ("Przelew przychodzący; Opłata za prowadzenie rachunku; Wypłata z bankomatu Łódź", "cp1250"),
])
def test_windows_and_iso_text_is_never_read_as_a_dos_code_page(text: str, encoding: str) -> None:
    data = text.encode(encoding)
    assert detect_encoding(data, complete=True) not in ("cp852", "cp850", "cp437")


#: Danske LT's texts (kedder/ofxstatement-lithuanian's samples/danske.csv, cp1257: qa47a 2 read them as cp1252
#: `Paslaugø ir komisiniø pajamos uþ`)
LITHUANIAN = ("Paslaugų ir komisinių pajamos už gaunamus tarptautinius pervedimus USD\n"
              "Mokestis už lėšų įskaitymo administravimą pagal mokėjimo nurodymą XXX\n")


def test_lithuanian_cp1257_is_read_as_written() -> None:
    data = LITHUANIAN.encode("cp1257")
    assert detect_encoding(data, complete=True) == "cp1257"
    assert data.decode("cp1257") == LITHUANIAN


@pytest.mark.parametrize(("text", "encoding"), [
    ("Overførsel; Søren Ærø; Hævning Århus; Løn", "cp1252"),  # Danish ø, no þ
    ("Millifærsla; Þóra Guðmundsdóttir; Úttekt í hraðbanka", "cp1252"),  # Icelandic þ and ð, no ø
    ("Mokestis už paslaugas; Gauta įmoka", "cp1257"),  # Lithuanian without ų: left to charset-normalizer
    # qa48a 2: Norwegian with one Icelandic name (ø and þ both, and ó, no Lithuanian letter) was read as cp1257
    ("Dato;Tekst;Beløp\n01.03.2024;Overføring fra Bjørn Ingiþórsson;100,00\n02.03.2024;Kjøp Rema 1000 Lørenskog;"
     "-45,50\n", "cp1252"),
    ("Kjøp; Bjørn; Ingiþor; Næs", "cp1252"),  # ø, þ and æ only: three of Lithuanian's letters, not four
    (HUNGARIAN, "cp1250"),
])
def test_only_text_with_both_o_slash_and_thorn_in_cp1252_is_read_as_cp1257(text: str, encoding: str) -> None:
    assert detect_encoding(text.encode(encoding), complete=True) != "cp1257"


def test_binary_is_unsupported() -> None:
    with pytest.raises(FileError) as info:
        detect_encoding(bytes(range(256)) * 4, complete=True)
    assert info.value.code == UNSUPPORTED_ENCODING


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "iso8859_1", "utf-16", "utf-16-be", "cp850",
                                      "cp437"])
def test_german_file_in_every_encoding(encoding: str) -> None:
    data = GERMAN.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    events = run(parse_tabular_3col, data)
    assert not errors(events)
    parsed = lines(events)
    assert [line.description for line in parsed] == ["Überweisung Müller Straße", "Gebühr"]
    assert [str(line.amount) for line in parsed] == ["-1234.56", "-2.50"]


def test_a_stray_cp1252_byte_after_the_sample_does_not_fail_a_utf8_file() -> None:
    head = "date,description,amount\n" + "2024-01-01,Caf\u00e9,1.00\n" * (SAMPLE_SIZE // 20)
    data = head.encode() + b"2024-01-02,Stra\xdfe,2.00\n"
    parsed = lines(run(parse_tabular_3col, data))
    assert parsed[-1].description == "Straße"
    assert parsed[0].description == "Café"


def test_text_is_normalised_to_nfc() -> None:
    decomposed = "Cafe\u0301"
    assert nfc(decomposed) == "Café"
    data = f"2024-01-01,{decomposed},1.00\n".encode()
    assert lines(run(parse_tabular_3col, data))[0].description == "Café"


def test_open_text_streams_with_newlines_kept() -> None:
    with open_text(BytesSource("a\r\nb\n".encode("utf-16")), "utf-16") as text:
        assert text.read() == "a\r\nb\n"
