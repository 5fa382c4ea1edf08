"""Pages of results: ?page=N, and ?page_size=N up to 500 (default RIS_API_PAGE_SIZE)."""

from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
