"""URLs of the stores app: auth, the caller and their stores, accepting an invitation; the
store, its staff and invitations."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from stores import apis, staff_apis

staff_router = SimpleRouter()
staff_router.register("staff/invitations", staff_apis.InvitationViewSet, basename="invitation")
staff_router.register("staff", staff_apis.StaffViewSet, basename="staff")

urlpatterns = [
    path("stores/", apis.StoreListApi.as_view(), name="store-list"),
    path("auth/token/", apis.TokenApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", apis.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("invitations/accept/", apis.InvitationAcceptApi.as_view(), name="invitation-accept"),
    path("store/", staff_apis.CurrentStoreApi.as_view(), name="store"),
    *staff_router.urls,
]
