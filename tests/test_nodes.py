"""Remote AEs: who may talk to the RIS, kept as data and managed by admin or `manage.py ae`."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from ris.nodes.models import RemoteAE, Service
from ris.nodes.selectors import remote_ae_for_association
from ris.nodes.services import remote_ae_add, remote_ae_remove, remote_ae_set_enabled
from ris.nodes.validators import validate_host
from tests.factories import RemoteAEFactory

pytestmark = pytest.mark.django_db

CHANGELIST_URL = "/admin/nodes/remoteae/"


def ae(*args: str) -> str:
    """Run `manage.py ae ARGS` and return what it printed."""
    out = StringIO()
    call_command("ae", *args, stdout=out)
    return out.getvalue()


# --- The model ---------------------------------------------------------------


def test_add_stores_the_ae_title_without_padding_spaces():
    """PS3.5: spaces around an AE title are not significant, so " CT1 " is CT1."""
    remote_ae = remote_ae_add(ae_title="  CT1 ", host=" ct1.example.org ", port=104)
    remote_ae.refresh_from_db()
    assert remote_ae.ae_title == "CT1"
    assert remote_ae.host == "ct1.example.org"


def test_padding_does_not_count_towards_the_16_characters():
    remote_ae = remote_ae_add(ae_title=" " + "A" * 16 + " ", host="10.0.0.5", port=104)
    assert remote_ae.ae_title == "A" * 16


def test_factory_made_titles_are_stripped_too():
    """save() strips as well, for writes that skip validation."""
    assert RemoteAEFactory(ae_title="MR1  ").ae_title == "MR1"


@pytest.mark.parametrize("port", [0, 65536, -1, "abc"])
def test_add_refuses_a_port_outside_1_to_65535(port):
    with pytest.raises(ValidationError) as caught:
        remote_ae_add(ae_title="CT1", host="10.0.0.5", port=port)
    assert list(caught.value.message_dict) == ["port"]
    assert not RemoteAE.objects.exists()


@pytest.mark.parametrize("port", [1, 104, 65535])
def test_add_accepts_the_ends_of_the_port_range(port):
    assert remote_ae_add(ae_title="CT1", host="10.0.0.5", port=port).port == port


@pytest.mark.parametrize("ae_title", ["A" * 17, "", "   ", "CT\\1", "CT\n1"])
def test_add_refuses_a_bad_ae_title(ae_title):
    with pytest.raises(ValidationError) as caught:
        remote_ae_add(ae_title=ae_title, host="10.0.0.5", port=104)
    assert "ae_title" in caught.value.message_dict


def test_a_too_long_ae_title_is_refused_with_the_limit_named():
    with pytest.raises(ValidationError, match="at most 16 characters"):
        remote_ae_add(ae_title="A" * 17, host="10.0.0.5", port=104)


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.5",
        "::1",
        "fe80::1ff:fe23:4567:890a",
        "localhost",
        "ct-1.radiology.example.org",
        "ct1.example.org.",
        "PACS01",
    ],
)
def test_validate_host_accepts_names_and_addresses(host):
    validate_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "10.0.0.256",
        "-ct1.example.org",
        "ct_1.example.org",
        "ct1..example.org",
        "ct 1",
        "http://ct1",
        "ct1:104",
        "[::1]",
        "a" * 64 + ".example.org",
    ],
)
def test_validate_host_refuses_what_cannot_be_connected_to(host):
    with pytest.raises(ValidationError):
        validate_host(host)


def test_add_refuses_a_bad_host_with_the_field_named():
    with pytest.raises(ValidationError) as caught:
        remote_ae_add(ae_title="CT1", host="ct_1 example", port=104)
    assert list(caught.value.message_dict) == ["host"]


def test_ipv6_address_is_told_to_drop_its_brackets():
    with pytest.raises(ValidationError, match="without the square brackets"):
        validate_host("[::1]")


def test_ae_titles_are_unique_after_stripping():
    """A padded title is the same AE title, so the second add is refused, clearly."""
    remote_ae_add(ae_title="CT1", host="10.0.0.5", port=104)
    with pytest.raises(ValidationError, match="already registered"):
        remote_ae_add(ae_title=" CT1", host="10.0.0.6", port=104)
    assert RemoteAE.objects.count() == 1


def test_ae_titles_are_case_sensitive():
    """PS3.5 does not fold the case of AE titles, so ct1 and CT1 are two peers."""
    remote_ae_add(ae_title="CT1", host="10.0.0.5", port=104)
    remote_ae_add(ae_title="ct1", host="10.0.0.6", port=104)
    assert RemoteAE.objects.count() == 2


def test_str_names_the_title_and_address():
    assert str(RemoteAEFactory(ae_title="CT1", host="10.0.0.5", port=104)) == "CT1 (10.0.0.5:104)"
    assert str(RemoteAEFactory(ae_title="MR1", host="fd00::5", port=11112)) == (
        "MR1 ([fd00::5]:11112)"
    )


def test_remote_aes_are_listed_by_ae_title():
    for title in ["US1", "CT1", "MR1"]:
        RemoteAEFactory(ae_title=title)
    assert [r.ae_title for r in RemoteAE.objects.all()] == ["CT1", "MR1", "US1"]


# --- Services a remote AE may use ------------------------------------------


def test_may_use_follows_the_service_flags():
    remote_ae = remote_ae_add(
        ae_title="CT1", host="10.0.0.5", port=104, services=[Service.WORKLIST, "mpps"]
    )
    assert remote_ae.may_use(Service.WORKLIST)
    assert remote_ae.may_use("mpps")
    assert not remote_ae.may_use(Service.UPS)


def test_a_disabled_ae_may_use_no_service():
    remote_ae = RemoteAEFactory(enabled=False)
    assert not any(remote_ae.may_use(service) for service in Service)


def test_add_allows_every_service_by_default():
    remote_ae = remote_ae_add(ae_title="CT1", host="10.0.0.5", port=104)
    assert remote_ae.services == [Service.WORKLIST, Service.MPPS, Service.UPS]


def test_add_refuses_an_unknown_service_by_name():
    with pytest.raises(ValidationError, match="Unknown service 'dicomweb'"):
        remote_ae_add(ae_title="CT1", host="10.0.0.5", port=104, services=["dicomweb"])


def test_may_use_refuses_an_unknown_service():
    """A misspelt service in the DICOM service is a bug; it must not mean "allowed"."""
    with pytest.raises(ValueError, match="dicomweb"):
        RemoteAEFactory().may_use("dicomweb")


# --- The association gate ----------------------------------------------------


def test_selector_finds_an_enabled_ae_by_calling_title():
    remote_ae = RemoteAEFactory(ae_title="CT1")
    assert remote_ae_for_association(calling_ae_title="CT1") == remote_ae


def test_selector_ignores_the_padding_of_the_calling_title():
    """Calling AE titles arrive padded to 16 characters on the wire."""
    remote_ae = RemoteAEFactory(ae_title="CT1")
    assert remote_ae_for_association(calling_ae_title=" CT1            ") == remote_ae


def test_selector_does_not_let_a_disabled_ae_in():
    RemoteAEFactory(ae_title="CT1", enabled=False)
    assert remote_ae_for_association(calling_ae_title="CT1") is None


@pytest.mark.parametrize("calling_ae_title", ["CT2", "", "   "])
def test_selector_does_not_let_an_unknown_ae_in(calling_ae_title):
    RemoteAEFactory(ae_title="CT1")
    assert remote_ae_for_association(calling_ae_title=calling_ae_title) is None


def test_selector_is_one_query(django_assert_num_queries):
    """It runs for every incoming association."""
    RemoteAEFactory.create_batch(5)
    with django_assert_num_queries(1):
        remote_ae_for_association(calling_ae_title="MOD3")


# --- Remove and switch -------------------------------------------------------


def test_remove_forgets_the_ae():
    RemoteAEFactory(ae_title="CT1")
    remote_ae_remove(ae_title=" CT1 ")
    assert not RemoteAE.objects.exists()


def test_remove_names_an_unknown_title():
    with pytest.raises(RemoteAE.DoesNotExist, match="'CT9' is registered"):
        remote_ae_remove(ae_title="CT9")


def test_set_enabled_switches_without_forgetting_settings():
    RemoteAEFactory(ae_title="CT1", may_use_ups=False)
    remote_ae_set_enabled(ae_title="CT1", enabled=False)
    assert remote_ae_for_association(calling_ae_title="CT1") is None
    remote_ae = remote_ae_set_enabled(ae_title="CT1", enabled=True)
    assert remote_ae_for_association(calling_ae_title="CT1") == remote_ae
    assert not remote_ae.may_use_ups


# --- manage.py ae --------------------------------------------------------------


def test_ae_add_registers_and_list_shows_it():
    """The whole round: add with options, then see every column in the list."""
    out = ae(
        "add",
        "CT1",
        "--host",
        "10.0.0.5",
        "--port",
        "104",
        "--description",
        "CT scanner, room 1",
        "--services",
        "worklist, mpps",
    )
    assert "Registered CT1 (10.0.0.5:104)" in out

    listing = ae("list")
    header, row = listing.splitlines()
    assert header.split() == [
        "AE",
        "title",
        "address",
        "enabled",
        "services",
        "forward",
        "description",
    ]
    assert row.split(None, 5) == [
        "CT1",
        "10.0.0.5:104",
        "yes",
        "worklist,mpps",
        "-",
        "CT scanner, room 1",
    ]


def test_ae_add_disabled_registers_it_switched_off():
    ae("add", "CT1", "--host", "ct1.example.org", "--port", "11112", "--disabled")
    assert not RemoteAE.objects.get(ae_title="CT1").enabled
    assert "ct1.example.org:11112  no" in ae("list")


def test_ae_list_says_when_nothing_is_registered():
    assert ae("list") == "No remote AEs are registered.\n"


def test_ae_add_refuses_a_duplicate_with_a_readable_error():
    ae("add", "CT1", "--host", "10.0.0.5", "--port", "104")
    with pytest.raises(CommandError, match="ae_title: A remote AE with this AE title is already"):
        ae("add", "CT1", "--host", "10.0.0.6", "--port", "104")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "10.0.0.5", "--port", "70000"], "port: Ensure this value is less than"),
        (["--host", "ct 1", "--port", "104"], "host: 'ct 1' is neither a host name"),
        (["--host", "10.0.0.5", "--port", "104", "--services", "qr"], "Unknown service 'qr'"),
        (["--host", "10.0.0.5", "--port", "one"], "invalid int value"),
        (["--port", "104"], "the following arguments are required: --host"),
    ],
)
def test_ae_add_refuses_bad_values_with_a_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        ae("add", "CT1", *args)
    assert not RemoteAE.objects.exists()


def test_ae_add_refuses_a_too_long_title():
    with pytest.raises(CommandError, match="ae_title: An AE title has at most 16 characters"):
        ae("add", "A_VERY_LONG_AE_TITLE", "--host", "10.0.0.5", "--port", "104")


def test_ae_remove_forgets_the_ae():
    RemoteAEFactory(ae_title="CT1")
    assert "Removed CT1" in ae("remove", "CT1")
    assert not RemoteAE.objects.exists()


def test_ae_remove_of_an_unknown_title_is_a_command_error():
    with pytest.raises(CommandError, match="No remote AE with the AE title 'CT9' is registered"):
        ae("remove", "CT9")


def test_ae_disable_and_enable_switch_the_ae():
    RemoteAEFactory(ae_title="CT1", host="10.0.0.5", port=104)
    assert "Disabled CT1 (10.0.0.5:104)" in ae("disable", "CT1")
    assert remote_ae_for_association(calling_ae_title="CT1") is None
    assert "Enabled CT1" in ae("enable", "CT1")
    assert remote_ae_for_association(calling_ae_title="CT1") is not None


@pytest.mark.parametrize("action", ["enable", "disable"])
def test_ae_switching_an_unknown_title_is_a_command_error(action):
    with pytest.raises(CommandError, match="'CT9' is registered"):
        ae(action, "CT9")


def test_ae_without_an_action_is_a_command_error():
    with pytest.raises(CommandError, match="ACTION"):
        ae()


# --- The admin -----------------------------------------------------------------


def test_admin_changelist_opens_and_searches(admin_client):
    RemoteAEFactory(ae_title="CT1", description="CT scanner")
    RemoteAEFactory(ae_title="MR1")
    page = admin_client.get(CHANGELIST_URL, {"q": "scanner"}).content.decode()
    assert "CT1" in page
    assert "MR1" not in page


@pytest.mark.parametrize("suffix", ["add/", "{pk}/change/", "?enabled__exact=0"])
def test_admin_pages_open(admin_client, suffix):
    remote_ae = RemoteAEFactory()
    url = CHANGELIST_URL + suffix.format(pk=remote_ae.pk)
    assert admin_client.get(url).status_code == 200


def test_admin_add_form_strips_and_validates(admin_client):
    """The admin goes through the same model validation as the services."""
    response = admin_client.post(
        CHANGELIST_URL + "add/",
        {"ae_title": " CT1 ", "host": "10.0.0.5", "port": "104", "enabled": "on"},
    )
    assert response.status_code == 302
    assert RemoteAE.objects.get().ae_title == "CT1"
    response = admin_client.post(
        CHANGELIST_URL + "add/", {"ae_title": "CT2", "host": "10.0.0.5", "port": "0"}
    )
    assert response.status_code == 200
    assert RemoteAE.objects.count() == 1
