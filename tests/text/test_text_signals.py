"""The fast path: per-category signal patterns, evasions, dampeners, child context."""

from __future__ import annotations

import pytest

from safeguard.text.categories import CATEGORIES, CATEGORY_STAGE
from safeguard.text.lexicon import DAMPEN_FACTOR
from safeguard.text.signals import EXCERPT_CHARS, default_extractor

# One safeguarding-leaflet example per category, and evasion rewrites of it.
LEAFLET: dict[str, list[str]] = {
    "age_location_probe": [
        "how old are you?",
        "h0w 0ld r u?",
        "r u home alone",
        "r u h0me \u0430l\u043en\u0435",
    ],
    "personal_info": ["what school do you go to", "whats ur address", "wh@ts ur 4ddress"],
    "platform_move": [
        "add me on snap",
        "add me on sn@p",
        "add me on s n a p",
        "add me on 👻",
        "add me on d!sc0rd",
        "add me on s.n.a.p",
    ],
    "secrecy": [
        "don't tell your mum about me",
        "dont tell ur m\u200bum about me",
        "d0nt t3ll ur mum",
        "this is our secret",
        "this is our 🤫",
        "our s3cr3t",
    ],
    "flattery_trust": [
        "you're so mature for your age",
        "ur so m4ture for ur age",
        "ur sooooo mature for ur age",
    ],
    "isolation": [
        "ur friends dont care about u",
        "im the only one who understands you",
        "im th3 0nly 0ne who und3rstands u",
    ],
    "gifts_money": ["i'll buy you a gift card", "ill send u robux", "ill get u 🎁"],
    "image_request": ["send me a pic of you", "s3nd me a p1c", "send me a 📸", "send me a ρic"],
    "sexual_content": [
        "have you ever had a boyfriend",
        "have u ever kissed anyone",
        "h4ve u ev3r k1ssed anyone",
    ],
    "meeting": ["we should meet up", "i'll pick you up after school", "we sh0uld m33t up"],
    "coercion": [
        "if you don't send it i'll show everyone",
        "if u tell anyone ill send the pics to ur school",
        "do it now or else",
    ],
    "sextortion": [
        "ill send ur pics to all ur followers unless u pay",
        "i have ur pics. u have 10 minutes",
        "1ll p0st ur p1cs to ur sch00l",
    ],
}
ORDINARY_CHAT = [
    "hey how was your day",
    "i had pizza for dinner",
    "the match was great lol",
    "u r 2 cute",
    "that film was so good",
    "can you pass the salt",
    "gg that last round was mad",
    "wow!!",
    "running late, traffic is awful",
    "did you finish the book",
    "happy birthday!!",
    "ok see u later",
]


def categories(text: str) -> set[str]:
    return {h.category for h in default_extractor().extract(text).hits}


def weight(text: str, category: str) -> float:
    hits = [h for h in default_extractor().extract(text).hits if h.category == category]
    assert hits, f"{category} did not fire on {text!r}"
    return hits[0].weight


def test_every_category_has_a_leaflet_example() -> None:
    assert set(LEAFLET) == set(CATEGORIES)


@pytest.mark.parametrize(
    ("category", "text"), [(c, texts[0]) for c, texts in LEAFLET.items()], ids=list(LEAFLET)
)
def test_leaflet_example_fires_its_category(category: str, text: str) -> None:
    found = default_extractor().extract(text)
    hit = next(h for h in found.hits if h.category == category)
    assert 0.0 < hit.weight <= 1.0
    assert hit.reason
    assert hit.excerpt == text  # short messages are quoted whole
    assert hit.stage  # every hit names a grooming stage


@pytest.mark.parametrize(
    ("category", "text"),
    [(c, t) for c, texts in LEAFLET.items() for t in texts[1:]],
)
def test_evasion_rewrite_still_fires(category: str, text: str) -> None:
    assert category in categories(text)


@pytest.mark.parametrize("category", sorted(LEAFLET))
def test_evasion_rewrites_keep_the_weight(category: str) -> None:
    plain, *rewrites = LEAFLET[category]
    base = weight(plain, category)
    for text in rewrites:
        # Rewrites may hit a different pattern of the same category, never a dampened one.
        assert weight(text, category) >= base * DAMPEN_FACTOR * 1.01, text


def test_dotted_leet_secret_fires() -> None:
    assert "secrecy" in categories("this is our sec.r3t")


def test_spelled_out_pic_after_article_fires() -> None:
    assert "image_request" in categories("send me a p i c")


@pytest.mark.parametrize(
    ("harmless", "risky", "category"),
    [
        ("dont tell anyone about the surprise party", "don't tell your mum about me", "secrecy"),
        ("keep it secret, its for her birthday", "keep it between us", "secrecy"),
        ("send me a pic of the receipt", "send me a pic of you", "image_request"),
        ("ill pick u up from practice at 6", "ill pick u up", "meeting"),
        ("add me on discord for the clan server", "add me on discord", "platform_move"),
    ],
)
def test_dampened_context_is_weaker(harmless: str, risky: str, category: str) -> None:
    assert weight(harmless, category) < weight(risky, category)
    assert weight(harmless, category) <= 0.25


def test_dampener_scales_by_the_factor() -> None:
    assert weight("send me a pic of the receipt", "image_request") == pytest.approx(
        weight("send me a pic", "image_request") * DAMPEN_FACTOR, abs=1e-4
    )


def test_dampener_far_away_does_not_dampen() -> None:
    far = "send me a pic of you " + "x " * 60 + "and the receipt"
    assert weight(far, "image_request") == weight("send me a pic of you", "image_request")


@pytest.mark.parametrize(
    "text",
    [
        "im 13",
        "i'm 12 lol",
        "year 8",
        "my mum wont let me",
        "im in 7th grade",
        "12 yo",
        "i got grounded",
        "im only 14",
    ],
)
def test_child_context_cues_are_detected(text: str) -> None:
    found = default_extractor().extract(text)
    assert found.child_context > 0.0
    assert found.child_reasons
    assert not found.hits  # a child describing themselves is not a tactic


@pytest.mark.parametrize("text", ["i'm 30", "im 13 minutes away", "im 25 lol", "year 2019 was rough"])
def test_adult_ages_and_quantities_are_not_child_context(text: str) -> None:
    assert default_extractor().extract(text).child_context == 0.0


def test_stated_age_is_stronger_than_everyday_life() -> None:
    x = default_extractor()
    assert x.extract("im 13").child_context > x.extract("my mum wont let me").child_context


@pytest.mark.parametrize("text", ORDINARY_CHAT)
def test_ordinary_chat_fires_nothing(text: str) -> None:
    found = default_extractor().extract(text)
    assert found.hits == ()
    assert found.child_context == 0.0 and found.child_reasons == ()


def test_see_you_at_school_fires_nothing() -> None:
    assert categories("see you at school tomorrow") == set()


def test_one_hit_per_cue_the_strongest() -> None:
    found = default_extractor().extract("add me on snap. actually lets move to whatsapp")
    hits = [h for h in found.hits if h.category == "platform_move"]
    assert len({h.cue for h in hits}) == len(hits)  # at most one per cue
    platform = [h for h in hits if h.cue == "platform"]
    assert len(platform) == 1 and platform[0].weight == 0.65  # "lets move to" beats "add me on"


def test_stranger_openers_and_risk_checks_are_different_cues() -> None:
    cues = {h.cue for h in default_extractor().extract("asl? r u home alone").hits}
    assert {"opener", "risk_check"} <= cues


def test_stated_ages_are_read_but_not_units() -> None:
    extract = default_extractor().extract
    assert extract("asl 14 f uk").stated_ages == (14,)
    assert extract("im 35 m").stated_ages == (35,)
    assert extract("i'm 5 min away").stated_ages == ()
    assert extract("im 25 miles from u").stated_ages == ()


def test_everyday_words_are_not_body_talk() -> None:
    assert not default_extractor().extract("that exam was so hard, im wet from the rain").hits


def test_many_categories_in_one_message() -> None:
    found = categories("ur so mature for ur age, add me on snap and dont tell ur mum")
    assert {"flattery_trust", "platform_move", "secrecy"} <= found


def test_risk_assessment_pattern_overrides_stage() -> None:
    found = default_extractor().extract("r ur parents home?")
    hit = next(h for h in found.hits if h.category == "age_location_probe")
    assert hit.stage == "risk_assessment"
    assert CATEGORY_STAGE["age_location_probe"].value == "friendship_forming"


def test_long_message_excerpt_is_cut_around_the_hit() -> None:
    text = "blah " * 100 + "dont tell ur mum about me " + "blah " * 100
    hit = next(h for h in default_extractor().extract(text).hits if h.category == "secrecy")
    assert len(hit.excerpt) < len(text)
    assert len(hit.excerpt) <= EXCERPT_CHARS + 40
    assert "dont tell ur mum" in hit.excerpt
    assert hit.excerpt.startswith("…") and hit.excerpt.endswith("…")


def test_empty_and_whitespace_messages() -> None:
    x = default_extractor()
    for text in ("", " \u200b "):
        found = x.extract(text)
        assert found.hits == () and found.child_context == 0.0
