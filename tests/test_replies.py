"""Rendering responses with facts, and splitting long texts."""

from bot.nlu.content import Variant
from bot.replies.render import Renderer, split, write
from bot.replies.tenants import Tenants
from bot.types import Button


def test_render_fills_facts_in_the_language(demo_tenants: Tenants) -> None:
    renderer = Renderer({"utter_x": {
        "nl": Variant("Bel {phone}, kosten {waste_single_eur}, tot {payment_due_date}"),
        "en": Variant("Call {phone}, cost {waste_single_eur}, by {payment_due_date}",
                      (("Talk to a person", "/request_human"),)),
    }}, demo_tenants)
    assert renderer.render("utter_x", "nl").text == (
        "Bel 14 0123, kosten € 312,00, tot 30 april 2026"
    )
    english = renderer.render("utter_x", "en")
    assert english.text == "Call 14 0123, cost €312.00, by 30 April 2026"
    assert english.buttons == (Button("Talk to a person", "/request_human"),)


def test_values_override_and_per_language_facts(demo_tenants: Tenants) -> None:
    renderer = Renderer({"utter_x": {"nl": Variant("{tax_office}: {days_left}"),
                                     "en": Variant("{tax_office}: {days_left}")}}, demo_tenants)
    assert renderer.render("utter_x", "en", {"days_left": 3}).text == (
        "the Tax department of Gemeente Voorbeeld: 3"
    )


def test_write_by_kind() -> None:
    assert write("ozb_home_owner_pct", 0.0856, "nl") == "0,0856%"
    assert write("sewage_eur", 246.6, "en") == "€246.60"
    assert write("phone", "14 0123", "nl") == "14 0123"


def test_split_keeps_short_text_whole() -> None:
    assert split("kort") == ["kort"]
    assert split("") == []


def test_split_cuts_at_line_and_word_ends() -> None:
    text = "\n".join(f"regel {i} " + "woord " * 50 for i in range(60))
    parts = split(text, 4096)
    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    assert all(part.startswith("regel") for part in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_split_cuts_a_text_without_spaces() -> None:
    parts = split("x" * 10_000, 4096)
    assert [len(p) for p in parts] == [4096, 4096, 1808]
