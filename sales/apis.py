"""Thin DRF views of the sales API: registers, shifts, checkout, refunds, a customer's sales."""

from django.db import transaction
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from core.negotiation import FileAnswerNegotiation
from customers.models import Customer
from sales import receipts, selectors, services
from sales.filters import SaleFilter, ShiftFilter
from sales.idempotency import idempotent
from sales.lock_objects import client_id_claim, wal_flush
from sales.models import Refund, Register, Sale, SaleConflict, Shift
from sales.serializers import (
    CashMovementInputSerializer,
    CashMovementSerializer,
    CheckoutSerializer,
    ReceiptEmailQueuedSerializer,
    ReceiptEmailSerializer,
    ReceiptQuerySerializer,
    RefundInputSerializer,
    RefundSerializer,
    RegisterSerializer,
    SaleConflictSerializer,
    SaleSerializer,
    ShiftCloseSerializer,
    ShiftOpenSerializer,
    ShiftReportSerializer,
    ShiftSerializer,
    SyncRequestSerializer,
    SyncResponseSerializer,
    SyncSaleSerializer,
    SyncSerializer,
)
from sales.tasks import receipt_email_enqueue
from stores.models import Membership
from stores.permissions import EVERY_ROLE, OWNER_OR_MANAGER, store_membership, store_roles
from stores.tenancy import StoreScopedViewMixin

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Any unique string (a UUID) per intended operation. Repeating the request with the same "
        "key and body within 24 hours returns the first answer and writes nothing again; the "
        "same key with another body is refused with 422 `idempotency_key_reused`."
    ),
)
REPLAYED = "Idempotent-Replayed"


def line_inputs(lines: list[dict]) -> list[services.LineInput]:
    """A checkout's lines, as CheckoutLineSerializer validated them."""
    return [
        services.LineInput(
            product_id=line["product"],
            quantity=line["quantity"],
            discount=line["discount"],
            unit_price=line.get("unit_price"),
        )
        for line in lines
    ]


def payment_inputs(payments: list[dict]) -> list[services.PaymentInput]:
    """A checkout's payments, as PaymentSerializer validated them."""
    return [
        services.PaymentInput(method=payment["method"], amount=payment["amount"])
        for payment in payments
    ]


@extend_schema_view(
    list=extend_schema(summary="List the store's registers"),
    create=extend_schema(summary="Add a register"),
    retrieve=extend_schema(summary="Get a register"),
    update=extend_schema(summary="Replace a register"),
    partial_update=extend_schema(summary="Change a register"),
    destroy=extend_schema(
        summary="Delete a register",
        description="A register that ever had a shift is deactivated instead, and returned.",
        responses={204: None, 200: RegisterSerializer},
    ),
)
class RegisterViewSet(StoreScopedViewMixin, viewsets.ModelViewSet):
    """Registers (tills). Every member reads them, since cashiers open shifts on them."""

    queryset = Register.objects.order_by("id")
    serializer_class = RegisterSerializer
    permission_classes = (store_roles(read=EVERY_ROLE, write=OWNER_OR_MANAGER),)
    filterset_fields = ("is_active",)
    ordering_fields = ("id", "name")

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.register_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.register_update(
            register=serializer.instance, **serializer.validated_data
        )

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        register = self.get_object()
        if services.register_delete(register=register):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(register).data)


@extend_schema_view(
    list=extend_schema(summary="List shifts"),
    retrieve=extend_schema(summary="Get a shift"),
    create=extend_schema(
        summary="Open a shift",
        request=ShiftOpenSerializer,
        responses={201: ShiftSerializer, 409: OpenApiResponse(description="`shift_already_open`")},
    ),
)
class ShiftViewSet(
    StoreScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Shifts on registers: opened with the cash in the drawer, closed with the cash counted."""

    queryset = Shift.objects.order_by("-id")
    serializer_class = ShiftSerializer
    permission_classes = (store_roles(read=EVERY_ROLE, write=EVERY_ROLE),)
    filterset_class = ShiftFilter
    ordering_fields = ("id", "opened_at", "closed_at")

    def create(self, request: Request) -> Response:
        serializer = ShiftOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shift = services.shift_open(
            register_id=serializer.validated_data["register"],
            opening_cash=serializer.validated_data["opening_cash"],
            user=request.user,
        )
        return Response(ShiftSerializer(shift).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Close a shift (Z report)",
        request=ShiftCloseSerializer,
        responses={
            200: ShiftSerializer,
            403: OpenApiResponse(
                description="`permission_denied`: a cashier's count beyond `max_cash_difference`"
            ),
            409: OpenApiResponse(description="`shift_not_open`"),
        },
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close with the counted cash; the answer is the Z report: `expected_cash` is
        `opening_cash + cash_sales - cash_refunds + pay_ins - pay_outs`, `difference` is counted
        minus expected. A cashier's count further from the expected cash than the store's
        `max_cash_difference` is refused (403, naming no figure): an owner or manager closes."""
        shift = self.get_object()
        serializer = ShiftCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shift = services.shift_close(
            shift=shift,
            counted_cash=serializer.validated_data["counted_cash"],
            user=request.user,
            role=store_membership(request).role,
        )
        return Response(ShiftSerializer(shift).data)

    @extend_schema(
        summary="The shift's report (X report while open)",
        responses={200: ShiftReportSerializer},
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        """The figures of the shift now, changing nothing: an X report of an open shift, the Z
        report of a closed one."""
        shift = self.get_object()
        figures = services.shift_report(shift)
        if (
            shift.status == Shift.Status.OPEN
            and request.store.blind_close
            and store_membership(request).role == Membership.Role.CASHIER
        ):
            for hidden in ("cash_sales", "cash_refunds", "expected_cash", "totals_by_method"):
                figures[hidden] = None
        body = {
            "shift": shift.pk,
            "status": shift.status,
            "opening_cash": shift.opening_cash,
            **figures,
        }
        return Response(ShiftReportSerializer(body).data)

    @extend_schema(
        methods=["get"],
        summary="List the pay-ins and pay-outs of a shift",
        responses={200: CashMovementSerializer(many=True)},
    )
    @extend_schema(
        methods=["post"],
        summary="Pay cash into or out of the drawer",
        request=CashMovementInputSerializer,
        responses={
            201: CashMovementSerializer,
            409: OpenApiResponse(description="`shift_not_open`"),
        },
    )
    @action(detail=True, methods=["get", "post"], url_path="cash-movements")
    def cash_movements(self, request: Request, pk: str | None = None) -> Response:
        """Cash into or out of the drawer that is no sale or refund (a float topped up, a
        supplier paid from the till), by any member, while the shift is open; in its
        `expected_cash`."""
        shift = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(shift.cash_movements.order_by("id"))
            return self.get_paginated_response(CashMovementSerializer(page, many=True).data)
        serializer = CashMovementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        movement = services.cash_movement_create(
            shift=shift, user=request.user, **serializer.validated_data
        )
        return Response(CashMovementSerializer(movement).data, status=status.HTTP_201_CREATED)


# Actions whose service or selector reads (or locks) the sale itself: the view only finds it.
_READS_ITS_OWN_SALE = frozenset({"refund", "receipt", "refund_receipt", "receipt_email"})
RECEIPT_RESPONSES = {
    (200, "text/plain"): OpenApiTypes.STR,
    (200, "text/html"): OpenApiTypes.STR,
    (200, "application/pdf"): OpenApiTypes.BINARY,
    400: OpenApiResponse(description="An unknown `format` or `width`, by name."),
}


def _receipt_answer(
    request: Request, *, sale_id: int, refund_id: int | None = None
) -> HttpResponse:
    query = ReceiptQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    try:
        document = services.receipt_document(sale_id=sale_id, refund_id=refund_id)
    except Refund.DoesNotExist as error:
        raise NotFound("No such refund of this sale.") from error
    rendered = receipts.render(
        document,
        format=query.validated_data["format"],
        columns=query.validated_data["width"],
        language=request.store.locale,
    )
    answer = HttpResponse(rendered.content, content_type=rendered.content_type)
    answer["Content-Disposition"] = f'inline; filename="{rendered.filename}"'
    return answer


@extend_schema_view(
    list=extend_schema(summary="List sales"),
    retrieve=extend_schema(summary="Get a sale"),
)
class SaleViewSet(
    StoreScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Sales, newest first. Checkout and refunds accept an `Idempotency-Key` for safe retries."""

    serializer_class = SaleSerializer
    permission_classes = (store_roles(read=EVERY_ROLE, write=EVERY_ROLE),)
    filterset_class = SaleFilter
    ordering_fields = ("id", "number", "created_at", "total")

    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if self.action in _READS_ITS_OWN_SALE:
            return Sale.objects.all()
        return selectors.sale_list()

    @extend_schema(
        summary="Check out a sale",
        request=CheckoutSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: SaleSerializer,
            403: OpenApiResponse(
                description="`permission_denied`: a cashier changed a price, or gave more "
                "discount than the store's `cashier_max_discount_percent`."
            ),
            409: OpenApiResponse(
                description="`shift_not_open`, or `insufficient_stock` with `products`: "
                "`[{id, requested, available}]`."
            ),
            422: OpenApiResponse(description="`idempotency_key_reused`"),
        },
    )
    def create(self, request: Request) -> Response:
        """Ring up a sale: lines are priced and taxed, payments checked, stock taken, all in one
        transaction. A refused sale writes nothing and uses no number."""
        with idempotent(
            key=request.headers.get("Idempotency-Key"), scope="sale_checkout", body=request.data
        ) as claim:
            if claim.is_replay:
                return Response(
                    claim.replay_body, status=claim.replay_status, headers={REPLAYED: "true"}
                )
            data = CheckoutSerializer.validated(request.data)
            if data["client_id"] is not None:
                first = client_id_claim(client_id=data["client_id"])
                if first is not None:  # made already, online or synced: the first sale
                    # A sync may have committed it without waiting for the disk: this
                    # transaction gets an id, so its commit flushes the log past that sale.
                    wal_flush()
                    body = SaleSerializer(selectors.sale_list().get(pk=first[0])).data
                    claim.complete(status=status.HTTP_201_CREATED, body=body)
                    return Response(
                        body, status=status.HTTP_201_CREATED, headers={REPLAYED: "true"}
                    )
            sale = services.sale_checkout(
                user=request.user,
                role=store_membership(request).role,
                register_id=data["register"],
                customer_id=data["customer"],
                lines=line_inputs(data["lines"]),
                payments=payment_inputs(data["payments"]),
                note=data["note"],
                client_id=data["client_id"],
            )
            body = SaleSerializer.represent(sale)
            claim.complete(status=status.HTTP_201_CREATED, body=body)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="A sale's receipt",
        parameters=[ReceiptQuerySerializer],
        responses=RECEIPT_RESPONSES,
    )
    @action(detail=True, methods=["get"], content_negotiation_class=FileAnswerNegotiation)
    def receipt(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The sale's receipt, with the refunds made of it so far: plain text sized for a
        thermal printer (`width` columns, in display cells: CJK takes two), HTML, or PDF.
        Amounts and dates are written for the store's currency, locale and time zone."""
        sale = self.get_object()
        return _receipt_answer(request, sale_id=sale.pk)

    @extend_schema(
        summary="A refund's receipt",
        parameters=[ReceiptQuerySerializer],
        responses=RECEIPT_RESPONSES,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"refunds/(?P<refund_id>[0-9]{1,18})/receipt",
        content_negotiation_class=FileAnswerNegotiation,
    )
    def refund_receipt(
        self, request: Request, pk: str | None = None, refund_id: str | None = None
    ) -> HttpResponse:
        """The receipt of one refund of the sale: what was given back, and how."""
        sale = self.get_object()
        return _receipt_answer(request, sale_id=sale.pk, refund_id=int(refund_id))

    @extend_schema(
        summary="Mail a receipt",
        request=ReceiptEmailSerializer,
        responses={202: ReceiptEmailQueuedSerializer},
    )
    @action(detail=True, methods=["post"], url_path="receipt/email")
    def receipt_email(self, request: Request, pk: str | None = None) -> Response:
        """Queue the sale's receipt (or one of its refunds') for mail: text in the body, HTML
        beside it, the PDF attached. Sent by a worker; 202 once queued."""
        sale = self.get_object()
        serializer = ReceiptEmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund_id = serializer.validated_data.get("refund")
        if refund_id is not None and not sale.refunds.filter(pk=refund_id).exists():
            raise NotFound("No such refund of this sale.")
        email = serializer.validated_data["email"]
        receipt_email_enqueue(sale_id=sale.pk, to=email, refund_id=refund_id)
        return Response(
            {"sale": sale.pk, "refund": refund_id, "email": email},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        summary="Refund lines of a sale",
        request=RefundInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: RefundSerializer,
            409: OpenApiResponse(
                description="`refund_exceeds_sale` with `lines`: "
                "`[{line, requested, refundable}]`, or `shift_not_open` for a cash refund."
            ),
            422: OpenApiResponse(description="`idempotency_key_reused`"),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=(store_roles(read=OWNER_OR_MANAGER, write=OWNER_OR_MANAGER),),
    )
    def refund(self, request: Request, pk: str | None = None) -> Response:
        """Refund quantities of the sale's lines, never beyond what is left to refund; the money
        is prorated from each line (discount and tax included). With `restock`, the goods go
        back to stock."""
        sale = self.get_object()
        with idempotent(
            key=request.headers.get("Idempotency-Key"),
            scope=f"sale_refund:{sale.pk}",
            body=request.data,
        ) as claim:
            if claim.is_replay:
                return Response(
                    claim.replay_body, status=claim.replay_status, headers={REPLAYED: "true"}
                )
            serializer = RefundInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            refund = services.sale_refund(
                sale=sale,
                user=request.user,
                lines=[
                    services.RefundLineInput(line_id=line["line"], quantity=line["quantity"])
                    for line in data["lines"]
                ],
                method=data["method"],
                restock=data["restock"],
                reason=data["reason"],
            )
            body = RefundSerializer(refund).data
            claim.complete(status=status.HTTP_201_CREATED, body=body)
        return Response(body, status=status.HTTP_201_CREATED)


class CustomerSalesApi(StoreScopedViewMixin, generics.GenericAPIView):
    """A customer's sales: the customer is looked up in the store, then their sales listed."""

    queryset = Customer.objects.order_by("id")
    serializer_class = SaleSerializer
    permission_classes = (store_roles(read=EVERY_ROLE, write=EVERY_ROLE),)
    filterset_class = None
    ordering_fields = ("id",)

    @extend_schema(
        operation_id="customers_sales_list",
        summary="A customer's sales",
        responses={200: SaleSerializer(many=True)},
    )
    def get(self, request: Request, pk: str) -> Response:
        """The customer's sales, newest first."""
        customer = self.get_object()
        page = self.paginate_queryset(selectors.sale_list(customer_id=customer.pk))
        return self.get_paginated_response(SaleSerializer(page, many=True).data)


def _sync_item(raw: object) -> services.SyncSale | services.SyncResult:
    """One sale of a batch: parsed, or rejected as sent (writing nothing)."""
    serializer = SyncSaleSerializer(data=raw)
    if not serializer.is_valid():
        client_id = raw.get("client_id") if isinstance(raw, dict) else None
        return services.SyncResult(
            client_id if isinstance(client_id, str) else None,
            services.REJECTED,
            error={"detail": "Invalid sale.", "code": "invalid", "fields": serializer.errors},
        )
    data = serializer.validated_data
    return services.SyncSale(
        client_id=data["client_id"],
        occurred_at=data["occurred_at"],
        offline_number=data["offline_number"],
        customer_id=data["customer"],
        note=data["note"],
        lines=line_inputs(data["lines"]),
        payments=payment_inputs(data["payments"]),
    )


# The sync commits its own transactions (the batch's, or each sale's when it falls back), so the
# request has none of its own.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class SaleSyncApi(StoreScopedViewMixin, APIView):
    """Sales a till made offline, synced exactly once."""

    permission_classes = (store_roles(read=EVERY_ROLE, write=EVERY_ROLE),)

    @extend_schema(
        operation_id="sales_sync",
        summary="Sync sales made offline",
        description=(
            "Up to 500 sales of one register, each with the till's `client_id` (a UUID). They "
            "are applied in `occurred_at` order with the same checkout rules as "
            "`POST /api/sales/`, each all or nothing: a rejected sale writes nothing, and the "
            "others are made. A `client_id` applied before in this store is "
            "`duplicate` with the first sale, whatever is sent again: a batch cut off half-way "
            "is simply sent again. Stock that is no longer there is still taken and reported as "
            "`conflicts` (`applied_with_conflict`), unless the store's `offline_oversell` is "
            "off (`rejected`). A sale made before the register's open shift opened lands in it "
            "marked `late`. An invalid sale, or one dated in the future or before the store, "
            "is `rejected` with the reason, and nothing of it is written."
        ),
        request=SyncRequestSerializer,
        responses={200: SyncResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = SyncSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = services.sales_sync(
            register_id=serializer.validated_data["register"],
            sales=[_sync_item(raw) for raw in serializer.validated_data["sales"]],
            user=request.user,
            role=store_membership(request).role,
        )
        return Response({"results": [result.as_dict() for result in results]})


@extend_schema_view(get=extend_schema(summary="List the conflicts of offline sales"))
class SaleConflictListApi(StoreScopedViewMixin, generics.ListAPIView):
    """Stock that offline sales took when it was no longer there, newest first."""

    serializer_class = SaleConflictSerializer
    permission_classes = (store_roles(read=OWNER_OR_MANAGER, write=OWNER_OR_MANAGER),)

    def get_queryset(self):
        return SaleConflict.objects.order_by("-id")
