"""Django admin for the shared tables."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from stores.models import Membership, Store, User
from stores.services import user_delete


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "has_store_history")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ()
    list_filter = ("is_active", "is_staff", "has_store_history")
    readonly_fields = ("has_store_history",)

    # A user with store history is deactivated, never deleted: their name is on sales, shifts
    # and the stock ledger of the stores they worked in (stores.services.user_delete).
    def delete_model(self, request: HttpRequest, obj: User) -> None:
        if not user_delete(user=obj):
            self.message_user(
                request,
                f"{obj} has store history, so was deactivated rather than deleted.",
                messages.WARNING,
            )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        kept = [user for user in queryset.order_by("pk") if not user_delete(user=user)]
        if kept:
            self.message_user(
                request,
                f"{len(kept)} user(s) with store history were deactivated rather than deleted.",
                messages.WARNING,
            )


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "schema_name", "tenant_key", "currency", "is_active")
    search_fields = ("name", "slug", "tenant_key")
    readonly_fields = ("schema_name", "tenant_key", "slug", "created_at")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "store", "role", "is_active")
    list_filter = ("role", "is_active")
    raw_id_fields = ("user", "store")
