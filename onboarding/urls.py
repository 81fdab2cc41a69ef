"""URLs of onboarding: `POST /api/stores/signup/`."""

from django.urls import path

from onboarding.apis import SignupApi

urlpatterns = [
    path("stores/signup/", SignupApi.as_view(), name="store-signup"),
]
