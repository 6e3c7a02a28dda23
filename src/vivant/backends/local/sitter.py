"""Who is speaking: the sitter's apparent gender from the catalog, the title's words and the face detector.

Order of trust (:func:`decide_sitter`):

1. the catalog's ``gender``/``voice`` column (source ``catalog``, confidence 1);
2. a word of the title (or tags/description) that names a woman or a man, in English or French: "Madame",
   "Lady", "Mrs", "Duchess", "Portrait of a Man", "King", "Pope", "Roi", "Comtesse"... (source ``title``).
   A "Self-Portrait" is the artist's: a woman when the artist is in :data:`WOMEN_ARTISTS`, else a man with a
   lower confidence. Words of both genders ("The Moneylender and His Wife") give nothing. Then a common
   first name in the title ("Benedikt von Hertenstein", "Isabella Wolff", source ``title`` too);
3. the main face's gender by the face model (:mod:`vivant.backends.local.faceattr`, or nudenet's
   ``FACE_FEMALE``/``FACE_MALE`` class when that package is missing; source ``faces``) when its confidence
   reaches ``checks.gender_min_confidence``;
4. else ``unclear`` (source ``none``).

The production inspector puts the vision model's ``gender`` between 1 and 2 (see
:mod:`vivant.backends.openai.inspector`).
"""

from __future__ import annotations

import re
import unicodedata

from vivant.roles import Gender, Painting, Sitter

FEMALE_WORDS = (
    # English
    "madame", "mme", "mrs", "miss", "ms", "lady", "ladies", "woman", "women", "girl", "maid", "maiden", "duchess",
    "countess", "princess", "queen", "empress", "marchioness", "baroness", "viscountess", "mademoiselle", "mlle",
    "madonna", "virgin", "mother", "wife", "daughter", "daughters", "sister", "sisters", "girls", "nun",
    "abbess", "bride", "widow", "her",
    "herself", "milkmaid", "lacemaker", "barmaid", "shepherdess", "gypsy girl", "odalisque", "venus", "judith",
    "salome", "ophelia", "signora", "donna", "señora", "frau", "fräulein", "tsarina", "infanta", "heroine",
    # French
    "femme", "femmes", "jeune fille", "fille", "dame", "comtesse", "duchesse", "reine", "princesse",
    "impératrice", "marquise", "baronne", "mère", "soeur", "sœur", "épouse", "vierge", "religieuse",
    "paysanne", "bergère", "elle",
)  # fmt: skip
MALE_WORDS = (
    # English
    "man", "men", "mr", "monsieur", "sir", "lord", "king", "pope", "duke", "count", "earl", "prince", "emperor",
    "tsar", "czar", "cardinal", "bishop", "archbishop", "monk", "friar", "abbot", "father", "son", "boy",
    "gentleman", "knight", "marquis", "marquess", "baron", "viscount", "his", "himself", "he", "christ",
    "saint john", "doge", "sultan", "shah", "general", "admiral", "colonel", "captain", "signor", "señor",
    "herr", "infante", "bacchus", "apollo", "hercules", "merchant", "scholar", "philosopher", "old man",
    # French
    "homme", "hommes", "roi", "pape", "duc", "comte", "empereur", "évêque", "moine", "père", "fils",
    "garçon", "chevalier", "baron", "vicomte", "seigneur", "jeune homme", "vieillard", "il",
)  # fmt: skip
SELF_PORTRAIT_WORDS = ("self-portrait", "self portrait", "autoportrait", "auto-portrait")
WOMEN_ARTISTS = (
    "vigée", "vigee", "morisot", "cassatt", "kauffman", "kauffmann", "anguissola",
    "gentileschi", "leyster", "bonheur", "labille-guiard", "carriera", "fontana", "modersohn", "valadon",
    "gonzalès", "gonzales", "beaux", "bashkirtseff", "serebriakova", "zinaida", "merian", "ruysch",
    "peeters", "moillon", "marie bracquemond", "eva gonzalès", "abbéma", "breslau", "backer", "ancher",
    "schjerfbeck", "wiik", "teerlinc", "levina", "sirani", "rosalba", "angelica", "elisabeth",
    "élisabeth", "berthe", "mary ", "käthe", "kathe", "paula ",
)  # fmt: skip
"""Artists (surnames and telling first names, matched as words of the artist's name) whose self-portrait is a
woman's. A self-portrait by anyone else is taken for a man's, with :data:`SELF_PORTRAIT_MALE_CONFIDENCE`."""

FEMALE_NAMES = (
    "mary", "marie", "maria", "mariana", "anne", "anna", "ann", "elizabeth", "elisabeth", "élisabeth", "isabella",
    "isabel", "isabelle", "catherine", "katherine", "caterina", "ekaterina", "margaret", "marguerite",
    "margherita", "jeanne", "joan", "jane", "joanna", "sophie", "sofia", "sophia", "louise", "luisa",
    "charlotte", "caroline", "victoria", "helena", "hélène", "helen", "eleanor", "eleonora", "lucrezia",
    "ginevra", "simonetta", "beatrice", "beatrix", "madeleine", "magdalena", "emma", "emily", "alice", "clara",
    "claire", "julie", "julia", "giulia", "rose", "rosa", "agnes", "agnès", "dorothea", "frances", "henrietta",
    "henriette", "olga", "natalia", "vera", "tatiana", "alexandra", "lucy", "lucia", "cecilia", "teresa",
    "thérèse", "antoinette", "pauline", "adèle", "adele", "camille", "berthe", "suzanne", "gabrielle", "diane",
    "laura", "bianca", "violante", "nanna", "gretchen", "johanna", "christina", "kristina", "ursula", "barbara",
    "susanna", "esther", "sarah", "rebecca", "judith", "eugénie", "eugenie", "josephine", "joséphine",
)  # fmt: skip
MALE_NAMES = (
    "charles", "carlo", "carlos", "karl", "louis", "luigi", "ludwig", "henry", "henri", "heinrich", "enrico",
    "thomas", "tommaso", "john", "jean", "johann", "johannes", "giovanni", "juan", "ivan", "jan", "william",
    "guillaume", "wilhelm", "george", "georges", "georg", "james", "jacques", "giacomo", "edward", "édouard",
    "edouard", "francis", "françois", "francesco", "franz", "philip", "philippe", "filippo", "felipe", "peter",
    "pierre", "pietro", "pyotr", "paul", "paolo", "pavel", "antonio", "antoine", "anton", "nicolas",
    "nicholas", "niccolò", "nikolai", "alexander", "alexandre", "alessandro", "alexei", "michael", "michel",
    "michele", "mikhail", "richard", "robert", "hermann", "benedikt", "benedict", "frederick", "frédéric",
    "friedrich", "federico", "lorenzo", "laurent", "andrea", "andré", "andrei", "andrew", "joseph", "giuseppe",
    "josé", "david", "daniel", "samuel", "matthew", "matthias", "martin", "dmitri", "sergei", "vincent",
    "vincenzo", "rembrandt", "erasmus", "napoleon", "napoléon", "cosimo", "ferdinand", "maximilian", "rudolf",
    "otto", "hugo", "victor", "gustave", "claude", "émile", "emile", "eugène", "auguste", "théodore",
)  # fmt: skip
"""Common first names of sitters, matched as whole words of the title when no title word above decides
(confidence :data:`NAME_CONFIDENCE`). Names shared by both genders are left out."""

TITLE_CONFIDENCE = 0.9
NAME_CONFIDENCE = 0.8
SELF_PORTRAIT_FEMALE_CONFIDENCE = 0.9
SELF_PORTRAIT_MALE_CONFIDENCE = 0.75


def _fold(text: str) -> str:
    """Lower case, typographic apostrophes made plain, hyphens kept (so "self-portrait" stays one word)."""
    return unicodedata.normalize("NFC", text).lower().replace("’", "'")


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def title_gender(painting: Painting) -> tuple[Gender, float, str] | None:
    """``(gender, confidence, note)`` from the painting's words, or None when they say nothing (or both)."""
    texts = [painting.title, painting.title_fr or "", " ".join(painting.tags), painting.description or ""]
    for text in texts:
        folded = _fold(text)
        if not folded.strip():
            continue
        # "Portrait of the Artist's Wife" speaks of a woman even though "artist" might be a man's self-portrait
        if any(_has(folded, w) for w in SELF_PORTRAIT_WORDS):
            artist = _fold(painting.artist)
            woman = next((a for a in WOMEN_ARTISTS if a.strip() in artist), None)
            if woman:
                return "female", SELF_PORTRAIT_FEMALE_CONFIDENCE, f"self-portrait by {painting.artist}"
            return "male", SELF_PORTRAIT_MALE_CONFIDENCE, f"self-portrait by {painting.artist} (taken for a man)"
        female = next((w for w in FEMALE_WORDS if _has(folded, w)), None)
        male = next((w for w in MALE_WORDS if _has(folded, w)), None)
        if female and male:
            return None  # "The Moneylender and His Wife": a couple, or words that disagree
        if female:
            return "female", TITLE_CONFIDENCE, f"'{female}'"
        if male:
            return "male", TITLE_CONFIDENCE, f"'{male}'"
    for text in texts[:2]:  # first names: the title only (a description names many people)
        folded = _fold(text)
        female = next((w for w in FEMALE_NAMES if _has(folded, w)), None)
        male = next((w for w in MALE_NAMES if _has(folded, w)), None)
        if female and not male:
            return "female", NAME_CONFIDENCE, f"first name '{female}'"
        if male and not female:
            return "male", NAME_CONFIDENCE, f"first name '{male}'"
    return None


def face_gender(label: str) -> Gender | None:
    """The gender of a nudenet face box's class (``FACE_FEMALE``/``FACE_MALE``, possibly with a note after it)."""
    if label.startswith("FACE_FEMALE"):
        return "female"
    if label.startswith("FACE_MALE"):
        return "male"
    return None


def decide_sitter(
    painting: Painting,
    *,
    face: tuple[Gender, float, str] | None = None,
    min_face_confidence: float = 0.0,
    model: tuple[Gender, float] | None = None,
) -> Sitter:
    """The sitter's gender by the order of trust above.

    ``face`` is the face model's ``(gender, confidence 0-1, note)`` for the main face; ``model`` the vision
    model's ``(gender, confidence)``.
    """
    if painting.gender is not None:
        return Sitter(gender=painting.gender, source="catalog", confidence=1.0, note="catalog column")
    if model is not None and model[0] != "unclear":
        return Sitter(gender=model[0], source="vision-model", confidence=round(model[1], 3), note="")
    words = title_gender(painting)
    if words is not None:
        gender, confidence, note = words
        return Sitter(gender=gender, source="title", confidence=confidence, note=note)
    if face is not None and face[1] >= min_face_confidence:
        return Sitter(gender=face[0], source="faces", confidence=round(face[1], 3), note=face[2])
    note = "no telling word and no face"
    if face is not None:
        note = f"{face[2]}: below {min_face_confidence:g}"
    return Sitter(gender="unclear", source="none", confidence=0.0, note=note)
