"""The DICOMweb endpoints under /dicomweb/."""

urlpatterns: list = []
