"""The words the catalogue is generated from: product types, brands, title qualifiers.

Each :class:`ProductType` names its category path (three levels, WebShop's "product category"
breadcrumb), the attributes its products may have (a product draws a few), its option groups
(a product offers a subset of each group's values) and its price range.

The values were chosen so that WebShop's fuzzy matching (:mod:`.matching`) keeps them apart:
no two values of one option group, no two option values of one type across groups, and no
two attributes of one type match each other (the catalogue tests check every pair). That is
why sizes read ``"6 count"``/``"12 count"``/``"30 count"`` rather than ``"pack of 6"``/
``"pack of 12"``: a long shared part followed by a short difference counts as a match.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductType:
    """A kind of product; ``name`` is what instructions and titles call it (WebShop's query)."""

    name: str
    category: tuple[str, str, str]
    attributes: tuple[str, ...]
    options: tuple[tuple[str, tuple[str, ...]], ...]
    price_range: tuple[float, float]

    @property
    def plural(self) -> bool:
        """The name is a plural ("leggings", "gel pens"): sentences say "are", not "is"."""
        return self.name.endswith("s")


_COLORS_CLOTHING = ("black", "white", "navy", "gray", "olive", "burgundy", "beige")
_SIZES_CLOTHING = ("xs", "small", "medium", "large", "xl", "xxl")
_COUNTS = ("6 count", "12 count", "30 count", "48 count")
_OUNCES = ("8 ounce", "16 ounce", "32 ounce")
_FLUID_OUNCES = ("8 fl oz", "16 fl oz", "32 fl oz")


def _t(name: str, category: str, attributes: str, options: dict[str, tuple[str, ...]],
       low: float, high: float) -> ProductType:
    path = tuple(part.strip() for part in category.split(">"))
    assert len(path) == 3, category
    return ProductType(name, path, tuple(a.strip() for a in attributes.split(",")),  # type: ignore[arg-type]
                       tuple(options.items()), (low, high))


PRODUCT_TYPES: tuple[ProductType, ...] = (
    # grocery and gourmet food
    _t("snack pack", "grocery > snacks > chips and crisps",
       "gluten free, non gmo, low sugar, keto friendly, high protein, individually wrapped, dairy free, plant based",
       {"flavor": ("sea salt", "cheddar cheese", "barbecue", "sour cream and onion", "jalapeno"), "size": _COUNTS},
       4.0, 38.0),
    _t("protein bar", "grocery > snacks > nutrition bars",
       "high protein, low carb, gluten free, non gmo, no artificial flavors, low sugar, soy free",
       {"flavor": ("chocolate chip", "peanut butter", "cookie dough", "salted caramel", "blueberry"), "size": _COUNTS},
       9.0, 45.0),
    _t("trail mix", "grocery > snacks > nuts and seeds",
       "non gmo, vegan, resealable bag, kosher certified, gluten free, no salt added",
       {"flavor": ("tropical fruit", "dark chocolate", "honey roasted", "cranberry almond"), "size": _OUNCES},
       5.0, 30.0),
    _t("herbal tea", "grocery > beverages > tea",
       "caffeine free, organic, non gmo, kosher certified, individually wrapped, gluten free",
       {"flavor": ("chamomile", "peppermint", "hibiscus", "rooibos", "lemon ginger"),
        "size": ("16 count", "20 count", "48 count")},
       4.0, 25.0),
    _t("coffee beans", "grocery > beverages > coffee",
       "organic, fair trade, low acid, single origin, non gmo, kosher certified",
       {"roast": ("light roast", "medium roast", "dark roast"), "size": ("12 ounce", "40 ounce")},
       8.0, 48.0),
    _t("olive oil", "grocery > pantry > cooking oils",
       "extra virgin, cold pressed, organic, non gmo, kosher certified, first harvest",
       {"size": ("500 ml", "1 liter", "1 gallon")},
       7.0, 55.0),
    _t("honey", "grocery > pantry > sweeteners",
       "unfiltered, unpasteurized, organic, non gmo, kosher certified, gluten free",
       {"flavor": ("wildflower", "clover", "manuka", "orange blossom"), "size": ("12 ounce", "40 ounce")},
       6.0, 60.0),
    # beauty and personal care
    _t("shampoo", "beauty > hair care > shampoo",
       "sulfate free, paraben free, cruelty free, color safe, vegan, volumizing",
       {"scent": ("coconut", "lavender", "tea tree", "unscented", "argan"), "size": _FLUID_OUNCES},
       5.0, 35.0),
    _t("face moisturizer", "beauty > skin care > moisturizers",
       "fragrance free, oil free, dermatologist tested, cruelty free, hyaluronic acid, non comedogenic",
       {"skin type": ("dry skin", "oily skin", "sensitive skin", "normal skin")},
       8.0, 60.0),
    _t("lip balm", "beauty > skin care > lip care",
       "beeswax, vegan, cruelty free, paraben free, spf protection, long lasting",
       {"flavor": ("vanilla", "cherry", "honey", "coconut", "peppermint"), "size": ("6 count", "12 count")},
       3.0, 18.0),
    _t("nail polish", "beauty > makeup > nails",
       "quick dry, long lasting, chip resistant, vegan, cruelty free, non toxic",
       {"color": ("red", "coral", "pink", "burgundy", "nude", "lavender")},
       4.0, 22.0),
    _t("sunscreen", "beauty > skin care > sun care",
       "water resistant, reef safe, broad spectrum, fragrance free, oil free",
       {"spf": ("spf 30", "spf 50", "spf 70"), "size": _FLUID_OUNCES},
       6.0, 32.0),
    # clothing, shoes and jewelry
    _t("t-shirt", "clothing > men > shirts",
       "machine washable, short sleeve, classic fit, moisture wicking, tagless design, soft cotton",
       {"color": _COLORS_CLOTHING, "size": _SIZES_CLOTHING},
       8.0, 35.0),
    _t("hoodie", "clothing > men > sweatshirts",
       "machine washable, fleece lined, kangaroo pocket, relaxed fit, drawstring hood",
       {"color": _COLORS_CLOTHING, "size": _SIZES_CLOTHING},
       18.0, 65.0),
    _t("leggings", "clothing > women > activewear",
       "high waist, four way stretch, squat proof, moisture wicking, hidden pocket, machine washable",
       {"color": ("black", "navy", "gray", "olive", "burgundy", "purple"), "size": _SIZES_CLOTHING},
       12.0, 48.0),
    _t("running shorts", "clothing > men > activewear",
       "quick dry, zipper pocket, built in liner, lightweight, reflective details",
       {"color": ("black", "navy", "gray", "red", "teal"), "size": _SIZES_CLOTHING},
       10.0, 40.0),
    _t("rain jacket", "clothing > women > coats and jackets",
       "waterproof, packable, adjustable hood, breathable, windproof",
       {"color": ("black", "navy", "olive", "yellow", "red"), "size": _SIZES_CLOTHING},
       30.0, 120.0),
    _t("socks", "clothing > men > socks",
       "cushioned sole, moisture wicking, arch support, breathable, odor resistant",
       {"color": ("black", "white", "gray"), "size": ("6 pairs", "12 pairs", "30 pairs")},
       7.0, 35.0),
    _t("sneakers", "shoes > men > sneakers",
       "non slip, memory foam, lightweight, breathable mesh, arch support",
       {"color": ("black", "white", "gray", "navy", "red"), "size": ("7", "8", "9", "10", "11", "12")},
       30.0, 110.0),
    # home and kitchen
    _t("bed sheets", "home and kitchen > bedding > sheets",
       "deep pocket, wrinkle resistant, machine washable, hypoallergenic, cooling",
       {"color": ("white", "ivory", "gray", "navy", "beige"), "size": ("twin", "full", "queen", "king")},
       20.0, 90.0),
    _t("throw pillow cover", "home and kitchen > decor > pillow covers",
       "hidden zipper, machine washable, soft velvet, double sided",
       {"color": ("teal", "mustard", "gray", "blush", "ivory"), "size": ("16x16", "18x18", "20x20")},
       6.0, 28.0),
    _t("bath towel", "home and kitchen > bath > towels",
       "quick dry, highly absorbent, machine washable, oeko tex certified, plush",
       {"color": ("white", "gray", "navy", "beige", "sage"), "size": ("2 pack", "4 pack", "6 pack")},
       15.0, 70.0),
    _t("shower curtain", "home and kitchen > bath > shower curtains",
       "waterproof, mildew resistant, machine washable, weighted hem, hooks included",
       {"color": ("white", "gray", "navy", "teal", "beige"), "size": ("72x72", "72x84")},
       10.0, 40.0),
    _t("coffee mug", "home and kitchen > kitchen > drinkware",
       "dishwasher safe, microwave safe, lead free, gift boxed",
       {"color": ("white", "black", "navy", "coral", "teal"), "size": ("12 oz", "16 oz", "20 oz")},
       8.0, 30.0),
    _t("cutting board", "home and kitchen > kitchen > cutting boards",
       "dishwasher safe, non slip, juice groove, bpa free, reversible",
       {"material": ("bamboo", "acacia wood", "plastic"), "size": ("small", "medium", "large")},
       12.0, 50.0),
    _t("desk lamp", "home and kitchen > lighting > desk lamps",
       "dimmable, usb charging port, touch control, adjustable arm, eye caring",
       {"color": ("black", "white", "silver")},
       15.0, 60.0),
    # electronics
    _t("phone case", "electronics > cell phone accessories > cases",
       "shockproof, scratch resistant, wireless charging compatible, slim profile, raised camera lip",
       {"color": ("black", "clear", "navy", "red", "pink"), "model": ("iphone 15", "galaxy s24", "pixel 8")},
       7.0, 35.0),
    _t("usb c cable", "electronics > computer accessories > cables",
       "fast charging, braided nylon, data transfer, tangle free",
       {"color": ("black", "white", "gray"), "length": ("3 ft", "6 ft", "10 ft")},
       5.0, 25.0),
    _t("wireless earbuds", "electronics > headphones > earbuds",
       "noise cancelling, water resistant, touch control, long battery life, charging case",
       {"color": ("black", "white", "navy")},
       20.0, 150.0),
    _t("laptop stand", "electronics > computer accessories > stands",
       "adjustable height, foldable, aluminum alloy, ventilated design, non slip",
       {"color": ("silver", "gray", "black")},
       15.0, 70.0),
    # pet supplies
    _t("dog treats", "pet supplies > dogs > treats",
       "grain free, made in usa, no artificial preservatives, high protein, single ingredient",
       {"flavor": ("chicken", "beef", "salmon", "peanut butter", "sweet potato"), "size": _OUNCES},
       6.0, 40.0),
    _t("cat litter", "pet supplies > cats > litter",
       "clumping, low dust, odor control, lightweight, natural clay",
       {"scent": ("unscented", "lavender", "fresh scent"), "size": ("14 pound", "25 pound", "38 pound")},
       9.0, 45.0),
    _t("dog bed", "pet supplies > dogs > beds",
       "orthopedic, removable cover, non slip bottom, waterproof liner",
       {"color": ("gray", "brown", "beige", "navy"), "size": ("small", "medium", "large", "xl")},
       20.0, 95.0),
    # sports and outdoors
    _t("yoga mat", "sports and outdoors > yoga > mats",
       "non slip, eco friendly, lightweight, carrying strap, latex free",
       {"color": ("purple", "teal", "black", "gray", "pink"), "thickness": ("4mm", "6mm", "8mm")},
       12.0, 60.0),
    _t("water bottle", "sports and outdoors > hydration > bottles",
       "bpa free, leak proof, vacuum insulated, dishwasher safe, wide mouth",
       {"color": ("black", "white", "teal", "coral", "navy"), "size": ("18 oz", "24 oz", "32 oz")},
       10.0, 45.0),
    _t("dumbbells", "sports and outdoors > strength training > weights",
       "neoprene coated, non slip grip, hexagon shape, sold as pair",
       {"weight": ("5 pound", "12 pound", "30 pound")},
       15.0, 90.0),
    _t("camping tent", "sports and outdoors > camping > tents",
       "waterproof, easy setup, lightweight, rainfly included, carry bag",
       {"color": ("green", "orange", "gray", "khaki"), "capacity": ("two person", "four person", "six person")},
       40.0, 220.0),
    # office and school
    _t("notebook", "office products > paper > notebooks",
       "acid free paper, hardcover, lay flat, elastic closure, inner pocket",
       {"color": ("black", "navy", "burgundy", "green"), "ruling": ("college ruled", "wide ruled", "dot grid", "blank")},
       5.0, 25.0),
    _t("gel pens", "office products > writing > pens",
       "quick dry, fine point, retractable, smooth writing, smear proof",
       {"ink color": ("black", "blue", "red", "assorted"), "size": ("6 pack", "12 pack", "30 pack")},
       4.0, 24.0),
    _t("backpack", "luggage > backpacks > laptop backpacks",
       "water resistant, laptop compartment, usb charging port, padded straps, anti theft",
       {"color": ("black", "gray", "navy", "olive")},
       20.0, 80.0),
    # furniture
    _t("office chair", "furniture > home office > chairs",
       "lumbar support, adjustable height, breathable mesh, padded armrests, swivel base",
       {"color": ("black", "gray", "white")},
       60.0, 260.0),
    _t("bookshelf", "furniture > living room > shelves",
       "easy assembly, anti tip hardware, engineered wood, space saving",
       {"color": ("black", "white", "walnut", "oak"), "tiers": ("three tier", "four tier", "five tier")},
       35.0, 160.0),
)

#: Brand names: two made-up words, none containing an attribute or option word.
BRANDS: tuple[str, ...] = (
    "Harbor Lane", "Northbrook", "Kindred Home", "Bluepeak", "Morrowind Goods", "Vellum & Co",
    "Sundial", "Copperleaf", "Ridgeway", "Amberly", "Foxhollow", "Tidewater", "Quillon", "Brightmoor",
    "Oakhurst", "Larkspur", "Evenfield", "Westbay", "Pinecrest", "Marlowe", "Highgate", "Willowby",
    "Stonebridge", "Cobalt Row", "Juniper Hill", "Redfern", "Ashgrove", "Summitry", "Bramble Co",
    "Kestrel", "Meadowlark", "Driftwood Supply", "Halcyon", "Ironbark", "Seabright", "Thistle & Vine",
)

#: Words a title may carry after the brand; they are not attributes.
QUALIFIERS: tuple[str, ...] = (
    "Classic", "Premium", "Everyday", "Essential", "Signature", "Original", "Deluxe", "Select",
    "Heritage", "Modern", "Studio", "Prime",
)
