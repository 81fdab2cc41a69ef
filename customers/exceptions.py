"""Domain errors of customers."""

from core.exceptions import Conflict


class CustomerHasSales(Conflict):
    default_detail = "This customer has sales and cannot be deleted."
    default_code = "customer_has_sales"
