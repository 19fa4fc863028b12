"""List filters and pages are read as the schema declares them: a misspelt choice, a boolean that is
not true/false, a filter given twice or a page size out of range is a 400 naming the parameter,
never silently another answer; a page past the end is a 404."""

import pytest

from .api_helpers import assert_error

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/api/v1/campaigns/"
LOANS = "/api/v1/loans/"


@pytest.mark.parametrize(
    "path, query, code, field",
    [
        (CAMPAIGNS, "sort=cheapest", "invalid_filter", "sort"),
        (CAMPAIGNS, "kind=donation", "invalid_filter", "kind"),
        (CAMPAIGNS, "mine=yes", "invalid_filter", "mine"),
        (CAMPAIGNS, "status=live&status=draft", "invalid_filter", "status"),
        (LOANS, "mine=1", "invalid_filter", "mine"),
        (LOANS, "grade=A&grade=B", "invalid_filter", "grade"),
        (LOANS, "page_size=0", "invalid_page_size", "page_size"),
        (LOANS, "page_size=101", "invalid_page_size", "page_size"),
        (LOANS, "page_size=ten", "invalid_page_size", "page_size"),
        (LOANS, "page_size=%EF%BC%91", "invalid_page_size", "page_size"),  # a full-width digit
        (CAMPAIGNS, "page=1&page=2", "invalid_page", "page"),
    ],
)
def test_a_bad_filter_or_page_is_refused_naming_it(api, path, query, code, field):
    assert_error(api.get(f"{path}?{query}"), 400, code, field=field)


@pytest.mark.parametrize("query", ["sort=newest", "kind=reward", "mine=false", "page_size=100", "status=anything"])
def test_good_filters_are_accepted(api, query):
    response = api.get(f"{CAMPAIGNS}?{query}")
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0


def test_a_page_past_the_end_is_not_found(api):
    assert_error(api.get(f"{LOANS}?page=2"), 404, "not_found")
