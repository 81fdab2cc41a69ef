"""What demo stores are made of: places, a grocery catalog, names; and how they are named."""

from dataclasses import dataclass

DEMO_EMAIL = "owner@demo.kassa.local"
DEMO_PASSWORD = "demo-kassa-2026"  # noqa: S105 - a local demo login, printed on purpose
DEMO_STORE_NAME = "Demo Store"


@dataclass(frozen=True)
class StoreProfile:
    """Where a demo store is: its money, clock, taxes, price level, barcodes and phones."""

    currency: str
    timezone: str
    prices_include_tax: bool
    standard_rate: str
    reduced_rate: str
    price_factor: str  # prices relative to the EUR prices of CATALOG
    barcode_prefix: str  # a GS1 country prefix
    phone_prefix: str
    notes: tuple[int, ...]  # the banknotes customers pay cash with
    float_cash: str  # the cash a shift opens with


PROFILES = (
    # The first is demo_store's kind of store.
    StoreProfile(
        "EUR", "Europe/Berlin", True, "19", "7", "1", "40", "+49 151", (5, 10, 20, 50), "150"
    ),
    StoreProfile(
        "GBP", "Europe/London", True, "20", "0", "0.9", "50", "+44 7700", (5, 10, 20, 50), "120"
    ),
    # Prices before sales tax, as American shelves show them.
    StoreProfile(
        "USD", "America/Chicago", False, "10.25", "2.25", "1.1", "0", "+1 312",
        (1, 5, 10, 20, 50), "200",
    ),
    StoreProfile(
        "PLN", "Europe/Warsaw", True, "23", "5", "4.3", "590", "+48 501", (10, 20, 50, 100), "600"
    ),
    StoreProfile(
        "SEK", "Europe/Stockholm", True, "25", "12", "11", "73", "+46 70", (20, 50, 100, 200),
        "1500",
    ),
    StoreProfile(
        "CHF", "Europe/Zurich", True, "8.1", "2.6", "1", "76", "+41 79", (10, 20, 50, 100), "150"
    ),
)  # fmt: skip

# (category, SKU code, taxed at the reduced rate, "item:EUR price; …"); "(kg)" is sold by weight.
CATALOG = (
    ("Bakery", "BAK", True, "Sourdough Loaf:4.20; Butter Croissant:1.40; Baguette:1.90; "
     "Rye Bread 500 g:2.80; Cinnamon Roll:2.20; Pretzel:0.90"),
    ("Dairy & Eggs", "DAI", True, "Whole Milk 1 L:1.15; Greek Yogurt 500 g:2.40; "
     "Butter 250 g:2.60; Aged Cheddar 200 g:3.50; Free-Range Eggs 10 pcs:3.20; Oat Drink 1 L:1.90"),
    ("Fruit & Vegetables", "FRU", True, "Bananas (kg):1.60; Apples (kg):2.80; Tomatoes (kg):3.40; "
     "Potatoes (kg):1.30; Carrots (kg):1.20; Avocado:1.30"),
    ("Coffee & Tea", "COF", True, "Espresso Beans 1 kg:17.90; Ground Coffee 250 g:5.40; "
     "Green Tea 20 bags:2.90; Earl Grey 50 bags:4.20; Hot Chocolate 400 g:3.90; "
     "Chamomile Tea 20 bags:2.50"),
    ("Drinks", "DRI", False, "Sparkling Water 1.5 L:0.80; Orange Juice 1 L:2.40; "
     "Cola 330 ml:1.20; Lemonade 500 ml:1.90; Iced Tea 500 ml:1.70; Craft Beer 330 ml:2.30"),
    ("Snacks", "SNA", True, "Dark Chocolate 100 g:1.90; Potato Chips 150 g:2.10; "
     "Salted Almonds 200 g:3.80; Oat Cookies 250 g:2.60; Gummy Bears 200 g:1.50; Granola Bar:0.99"),
    ("Household", "HOU", False, "Dish Soap 500 ml:2.20; Paper Towels 4 rolls:3.90; "
     "Sponges 3 pcs:1.60; Laundry Detergent 1.5 L:7.90; Trash Bags 20 pcs:2.70; "
     "Candles 6 pcs:4.50"),
    ("Personal Care", "PER", False, "Toothpaste 75 ml:2.30; Shampoo 250 ml:3.90; "
     "Hand Soap 300 ml:2.10; Sunscreen SPF 30:8.90; Cotton Pads 80 pcs:1.40; Lip Balm:2.50"),
)  # fmt: skip
BRANDS = ("Alpine", "Golden Field", "Nordic", "Harbor", "Sunny Farm", "Urban", "Old Mill")
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Karin",
    "Leo", "Maya", "Noah", "Olivia", "Paul", "Rosa", "Sami", "Tara", "Viktor", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Novak", "Schmidt", "Lindqvist", "Kowalski", "Rossi", "Murphy", "Dubois", "Meyer", "Garcia",
    "Berg", "Walker", "Keller", "Nilsson", "Fischer", "Evans", "Moreau", "Brown", "Weber",
)  # fmt: skip
# Reason, and whether the goods go back on the shelf.
REFUND_REASONS = (
    ("Changed their mind", True), ("Wrong item", True), ("Bought twice", True),
    ("Damaged packaging", False), ("Past its date", False),
)  # fmt: skip


def demo_store_name(index: int) -> str:
    return DEMO_STORE_NAME if index == 1 else f"{DEMO_STORE_NAME} {index}"


def demo_staff_email(*, role: str, index: int) -> str:
    return f"{role}@demo.kassa.local" if index == 1 else f"{role}{index}@demo.kassa.local"


def ean13_check_digit(body: str) -> int:
    """The check digit of 12 EAN digits: weights 1, 3, 1, 3, … from the left."""
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(body))
    return (10 - total % 10) % 10
