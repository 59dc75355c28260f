"""Fixed vocabularies of the synthetic client base: industries, regions, names and the catalogue.

Everything here is static data. The generator draws integer codes into these tuples and turns them
into strings only when the frames are built, so that no per-row Python runs.
"""

from __future__ import annotations

__all__ = [
    "COMPLEMENTS",
    "FIRST_NAMES",
    "GOODS_CATEGORIES",
    "INDUSTRIES",
    "INDUSTRY_FAVOURITES",
    "INDUSTRY_WEIGHTS",
    "INDUSTRY_WORDS",
    "LAST_NAMES",
    "LEGAL_FORMS",
    "LEGAL_FORM_WEIGHTS",
    "NAME_PREFIXES",
    "NAME_SUFFIXES",
    "PHONE_AREAS",
    "PROJECT_SCOPES",
    "REGIONS",
    "REGION_PLACES",
    "REGION_WEIGHTS",
    "SERVICES",
    "SITE_OBJECTS",
    "SUPPLY_CATEGORY",
]

INDUSTRIES: tuple[str, ...] = (
    "construction",
    "steel",
    "chemicals",
    "pharma",
    "packaging",
    "logistics",
    "retail",
    "energy",
    "machinery",
    "food",
)
INDUSTRY_WEIGHTS: tuple[float, ...] = (0.16, 0.08, 0.09, 0.08, 0.09, 0.10, 0.12, 0.06, 0.12, 0.10)
#: The word an organisation of each industry carries in its name.
INDUSTRY_WORDS: tuple[str, ...] = (
    "Bau",
    "Stahl",
    "Chemie",
    "Pharma",
    "Verpackung",
    "Logistik",
    "Handel",
    "Energie",
    "Maschinenbau",
    "Food",
)

#: Supplier industry -> buyer industry: the complementary pairs behind the planted partner pairs.
COMPLEMENTS: tuple[tuple[str, str], ...] = (
    ("steel", "machinery"),
    ("steel", "construction"),
    ("chemicals", "pharma"),
    ("packaging", "food"),
    ("packaging", "pharma"),
    ("logistics", "retail"),
    ("energy", "steel"),
    ("machinery", "food"),
)

REGIONS: tuple[str, ...] = (
    "north",
    "northwest",
    "west",
    "southwest",
    "south",
    "southeast",
    "east",
    "central",
)
REGION_WEIGHTS: tuple[float, ...] = (0.13, 0.15, 0.17, 0.12, 0.16, 0.07, 0.09, 0.11)
#: Telephone area codes by region (fictitious numbers are drawn behind them).
PHONE_AREAS: tuple[str, ...] = ("40", "421", "211", "711", "89", "851", "351", "69")
#: Places by region; a project site is a place and an object, so sites repeat within a region.
REGION_PLACES: tuple[tuple[str, ...], ...] = (
    ("Hafen Nord", "Wilhelmsburg", "Kiel Ost", "Lueneburg", "Stade", "Rostock Sued"),
    ("Bremen Vegesack", "Oldenburg", "Emden", "Osnabrueck", "Delmenhorst", "Wilhelmshaven"),
    ("Duisburg Rheinhafen", "Essen Nord", "Neuss", "Krefeld", "Dortmund Phoenix", "Koeln Porz"),
    ("Mannheim Friesenheim", "Karlsruhe Rheinhafen", "Heilbronn", "Pforzheim", "Ulm", "Freiburg"),
    ("Muenchen Riem", "Augsburg", "Ingolstadt", "Rosenheim", "Landshut", "Kempten"),
    ("Passau", "Regensburg", "Straubing", "Deggendorf", "Altoetting", "Burghausen"),
    ("Leipzig Nord", "Dresden Klotzsche", "Chemnitz", "Cottbus", "Magdeburg", "Halle"),
    ("Frankfurt Osthafen", "Kassel", "Fulda", "Giessen", "Erfurt", "Hanau"),
)
SITE_OBJECTS: tuple[str, ...] = (
    "Logistikzentrum",
    "Werk II",
    "Halle 3",
    "Campus",
    "Quartier",
    "Kraftwerk",
    "Technikum",
    "Produktionslinie 4",
    "Verteilzentrum",
    "Klinikneubau",
    "Kuehlhaus",
    "Umspannwerk",
)
PROJECT_SCOPES: tuple[str, ...] = (
    "Neubau",
    "Erweiterung",
    "Modernisierung",
    "Tragwerk",
    "Anlagentechnik",
    "Ausbau",
    "Umbau",
    "Ausruestung",
)

NAME_PREFIXES: tuple[str, ...] = (
    "Nord",
    "West",
    "Ost",
    "Rhein",
    "Elbe",
    "Hansa",
    "Alpen",
    "Isar",
    "Main",
    "Weser",
    "Harz",
    "Mosel",
    "Donau",
    "Spree",
    "Ruhr",
    "Saar",
    "Neckar",
    "Oder",
    "Taunus",
    "Eifel",
    "Lahn",
    "Werra",
    "Lech",
    "Ems",
    "Havel",
    "Fulda",
    "Saale",
    "Mulde",
    "Aller",
    "Jade",
)
NAME_SUFFIXES: tuple[str, ...] = (
    "bau",
    "tec",
    "werk",
    "tron",
    "form",
    "plan",
    "mont",
    "net",
    "trans",
    "con",
    "line",
    "flex",
    "star",
    "wert",
    "metall",
    "kraft",
    "guss",
    "med",
    "pack",
    "logic",
)
LEGAL_FORMS: tuple[str, ...] = ("GmbH", "AG", "GmbH & Co. KG", "KG", "SE", "OHG")
LEGAL_FORM_WEIGHTS: tuple[float, ...] = (0.52, 0.12, 0.22, 0.08, 0.03, 0.03)

FIRST_NAMES: tuple[str, ...] = (
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sophie",
    "Felix",
    "Laura",
    "Maximilian",
    "Julia",
    "Paul",
    "Lea",
    "Tobias",
    "Katharina",
    "Stefan",
    "Sandra",
    "Michael",
    "Claudia",
    "Thomas",
    "Sabine",
    "Andreas",
    "Nicole",
    "Markus",
    "Petra",
    "Christian",
    "Melanie",
    "Daniel",
    "Ines",
    "Florian",
    "Birgit",
    "Jan",
    "Elif",
    "Mehmet",
    "Agnieszka",
    "Piotr",
    "Sofia",
    "Marco",
    "Emma",
    "Noah",
    "Hannah",
    "David",
)
LAST_NAMES: tuple[str, ...] = (
    "Mueller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schroeder",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
    "Krueger",
    "Hartmann",
    "Lange",
    "Werner",
    "Krause",
    "Lehmann",
    "Koehler",
    "Maier",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Yilmaz",
    "Kowalski",
    "Nowak",
    "Rossi",
    "Jansen",
    "Peters",
    "Vogel",
    "Berger",
    "Frank",
    "Roth",
)

#: Goods categories: (category, product noun, log of the median unit price, specifications).
GOODS_CATEGORIES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    (
        "steel_profiles",
        "Steel profile",
        6.2,
        ("HEB 200", "HEA 160", "IPE 300", "UPN 120", "L 80x8"),
    ),
    (
        "sheet_metal",
        "Sheet metal",
        5.3,
        ("S235 2 mm", "S355 5 mm", "DC01 1 mm", "galvanised 1.5 mm"),
    ),
    (
        "fasteners",
        "Fastener set",
        3.2,
        ("M8 zinc", "M12 8.8", "M16 10.9", "anchor bolts", "rivets"),
    ),
    ("concrete_products", "Precast element", 6.8, ("slab 6 m", "beam 8 m", "stair unit", "wall")),
    (
        "insulation",
        "Insulation board",
        4.1,
        ("mineral wool 120", "PIR 100", "XPS 80", "foam glass"),
    ),
    ("pipes_fittings", "Pipe", 4.6, ("DN50 steel", "DN100 PE", "DN150 stainless", "elbow DN80")),
    ("pumps_valves", "Valve", 6.0, ("ball DN50", "gate DN100", "pump 3 kW", "pump 7.5 kW")),
    ("bulk_chemicals", "Chemical", 5.5, ("sodium hydroxide", "sulphuric acid", "ethanol", "resin")),
    (
        "lab_supplies",
        "Lab supply",
        4.0,
        ("pipette tips", "glassware set", "reagent kit", "filters"),
    ),
    ("packaging_film", "Packaging film", 4.8, ("PE 50 um", "PET barrier", "shrink film", "foil")),
    ("cartons", "Carton", 3.5, ("folding box", "shipping box", "tray", "blister card")),
    ("pallets_containers", "Container", 4.4, ("euro pallet", "IBC 1000 l", "gitterbox", "crate")),
    (
        "electrical_components",
        "Component",
        5.0,
        ("cable NYM 5x2.5", "switchgear", "LED panel", "relay"),
    ),
    ("tools", "Tool", 4.5, ("drill set", "torque wrench", "welding kit", "grinder")),
    ("spare_parts", "Spare part", 5.2, ("bearing 6205", "gear motor", "seal kit", "belt drive")),
    ("safety_equipment", "Safety kit", 3.8, ("helmets", "harness", "gloves", "fall arrest")),
    ("cleanroom_supplies", "Cleanroom supply", 4.3, ("gowns", "wipes", "overshoes", "masks")),
    ("food_ingredients", "Ingredient", 4.7, ("starch", "sugar", "stabiliser", "flavour")),
)

#: Favourite goods categories of each industry (indexes into GOODS_CATEGORIES).
INDUSTRY_FAVOURITES: tuple[tuple[int, ...], ...] = (
    (0, 3, 4, 2, 15),  # construction
    (0, 1, 13, 14),  # steel
    (7, 5, 6, 15),  # chemicals
    (8, 16, 7, 10),  # pharma
    (9, 10, 11),  # packaging
    (11, 14, 15, 12),  # logistics
    (10, 11, 12, 9),  # retail
    (12, 5, 6, 14),  # energy
    (14, 1, 2, 12, 13),  # machinery
    (17, 9, 10, 16),  # food
)
#: The goods category a supplier industry delivers to its buyers (for COMPLEMENTS).
SUPPLY_CATEGORY: dict[str, int] = {
    "steel": 0,
    "chemicals": 7,
    "packaging": 9,
    "logistics": 11,
    "energy": 12,
    "machinery": 14,
}

#: Services: (category, name, log of the median unit price, unit). Categories are SERVICE_CATEGORIES.
SERVICES: tuple[tuple[str, str, float, str], ...] = (
    ("insurance", "Transport insurance", 5.0, "policy"),
    ("insurance", "Project all-risk insurance", 7.0, "policy"),
    ("credit", "Trade credit 60 days", 5.5, "facility"),
    ("credit", "Project financing", 7.5, "facility"),
    ("logistics", "Express delivery", 5.0, "delivery"),
    ("logistics", "Scheduled site delivery", 5.6, "delivery"),
    ("logistics", "Oversize transport", 7.0, "delivery"),
    ("design", "Electronic design (BIM model)", 4.8, "hour"),
    ("design", "Technical drawing review", 4.6, "hour"),
    ("installation", "On-site assembly", 4.4, "hour"),
    ("installation", "Commissioning support", 4.7, "hour"),
    ("lifting", "Crane lift to upper floors", 6.9, "lift"),
    ("lifting", "Oversize load lifting", 7.6, "lift"),
)
