"""URLs of the public API: signup, auth, the caller and their stores."""

from django.urls import path

from stores import apis

urlpatterns = [
    path("stores/signup/", apis.SignupApi.as_view(), name="store-signup"),
    path("stores/", apis.StoreListApi.as_view(), name="store-list"),
    path("auth/token/", apis.TokenApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", apis.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("me/", apis.MeApi.as_view(), name="me"),
]
