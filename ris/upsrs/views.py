"""UPS-RS (PS3.18 chapter 11) over ris.ups: each view parses, calls one service, answers.

DRF APIViews, for what the rest of the API has already: token and session
authentication, throttling, content negotiation (406) and parsing (415) by
media type. A DICOM JSON parser and renderer (ris.upsrs.media) are the only
media types; a refusal from the domain (DicomError) becomes the HTTP status
and Warning of ris.upsrs.statuses, in `handle_exception`, in one place.
"""

from django.core.exceptions import ValidationError
from django.urls import reverse
from pydicom import Dataset
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import APIView

from ris.dicom.charset import set_response_character_set
from ris.dicom.errors import DicomError
from ris.dicom.statuses import SUCCESS, UPS_NO_SUCH_INSTANCE
from ris.dicom.vr import validate_ae_title
from ris.ups import FILTERED_GLOBAL_SUBSCRIPTION_UID, services
from ris.ups.models import Delivery
from ris.ups.query import workitem_find
from ris.ups.selectors import workitem_known
from ris.upsrs import statuses
from ris.upsrs.media import (
    AcceptParameterNegotiation,
    BodyError,
    DicomJSONParser,
    DicomJSONRenderer,
    PlainJSONRenderer,
    dataset_from_json,
    dataset_to_json,
)
from ris.upsrs.search import QueryError, filter_keys, max_results, search_request


class UpsRsView(APIView):
    """What every UPS-RS resource shares: media types and the status mapping.

    `transactions` names the transaction of each method, for the mapping.
    """

    parser_classes = [DicomJSONParser]
    renderer_classes = [DicomJSONRenderer, PlainJSONRenderer]
    content_negotiation_class = AcceptParameterNegotiation
    schema = None  # not part of the HIS API's OpenAPI schema: PS3.18 defines it
    # Creating and changing workitems, and subscribing (which decides where an
    # AE title's events go), is for clients that may write, as in the REST
    # API; reading and searching, for every signed-in client.
    role_permissions = ("ups.view_workitem", "ups.change_workitem")
    transactions: dict[str, str] = {}
    transaction_uid: str | None = None  # the one given, to tell "missing" from "incorrect"

    def handle_exception(self, exc):
        if isinstance(exc, DicomError):
            return self.refusal(exc.comment, exc.status)
        if isinstance(exc, BodyError | QueryError):
            return Response({"detail": str(exc)}, status=400)
        return super().handle_exception(exc)

    def refusal(self, comment: str, dimse_status: int) -> Response:
        """The HTTP answer to a DicomError, with a readable body."""
        outcome = statuses.outcome(dimse_status, self.transactions[self.request.method])
        if dimse_status == UPS_NO_SUCH_INSTANCE and self._was_known():
            outcome = statuses.GONE
        body = {"detail": comment, "dimse_status": f"0x{dimse_status:04X}"}
        return self.answer(outcome, body)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if any("\x00" in value for value in request.query_params.values()):
            raise QueryError("A query parameter has a NUL character.")

    def succeeded(self, dimse_status: int, data=None, headers=None) -> Response:
        outcome = statuses.outcome(dimse_status, self.transactions[self.request.method])
        return self.answer(outcome, data, headers)

    def answer(self, outcome: statuses.Outcome, data=None, headers=None) -> Response:
        headers = dict(headers or {})
        warning = outcome.warning
        if warning == statuses.TRANSACTION_UID_INCORRECT and not self.transaction_uid:
            warning = statuses.TRANSACTION_UID_MISSING
        if warning:
            headers["Warning"] = statuses.warning_header(self.service_url(), warning)
        return Response(data, status=outcome.http_status, headers=headers)

    def service_url(self) -> str:
        """The origin server's base URI, the `<service>` of a Warning (PS3.18 8.3.1)."""
        workitems = reverse("upsrs-workitems")
        return self.request.build_absolute_uri(workitems.removesuffix("/workitems"))

    def _was_known(self) -> bool:
        """PS3.18 11.5.3: 410 Gone for a workitem the RIS knows existed (its
        row stays, for audit, after it leaves the worklist)."""
        uid = self.kwargs.get("uid")
        return bool(uid) and workitem_known(sop_instance_uid=uid)

    def body_dataset(self, *, required: bool = True) -> Dataset | None:
        """The request's one data set. A body without a Content-Type is 415, as
        one of the wrong type is (DRF would read it as no body)."""
        request = self.request
        if not request.content_type and int(request.META.get("CONTENT_LENGTH") or 0):
            raise UnsupportedMediaType("")
        data = request.data
        return dataset_from_json(None if data == {} else data, required=required)


class WorkitemsView(UpsRsView):
    """All workitems: Create (POST, 11.4) and Search (GET, 11.9)."""

    transactions = {"POST": statuses.CREATE, "GET": statuses.SEARCH}

    def post(self, request):
        attributes = self.body_dataset()
        uid = _create_uid(request, attributes)
        workitem = services.ups_create(
            sop_instance_uid=uid, attributes=attributes, created_by=request.user.get_username()
        )
        location = request.build_absolute_uri(
            reverse("upsrs-workitem", kwargs={"uid": workitem.sop_instance_uid})
        )
        return self.succeeded(SUCCESS, headers={"Location": location})

    def get(self, request):
        search = search_request(request.query_params)
        matches = workitem_find(search.identifier)  # IdentifierError (400) before any row
        wanted = max_results() if search.limit is None else min(search.limit, max_results())
        results, remaining = [], 0
        for position, (dataset, _all_supported) in enumerate(matches):
            if position < search.offset:
                continue
            if len(results) < wanted:
                results.append(dataset)
            else:
                remaining += 1
        if search.include_all:  # a workitem that left the worklist meanwhile is left out
            results = [full for full in map(_full, results) if full is not None]
        warnings = list(search.warnings)
        if remaining:
            warnings.append(f"There are {remaining} additional results that can be requested")
        headers = {}
        if warnings:
            service = self.service_url()
            headers["Warning"] = ", ".join(statuses.warning_header(service, w) for w in warnings)
        if not results:
            return Response(status=204, headers=headers)
        body = [dataset_to_json(dataset) for dataset in results]
        return Response(body, status=200, headers=headers)


class WorkitemView(UpsRsView):
    """One workitem: Retrieve (GET, 11.5) and Update (POST, 11.6)."""

    transactions = {"GET": statuses.RETRIEVE, "POST": statuses.UPDATE}

    def get(self, request, uid):
        dataset, status = services.ups_get(sop_instance_uid=uid)
        set_response_character_set(dataset, Dataset())
        return self.succeeded(status, [dataset_to_json(dataset)])

    def post(self, request, uid):
        modifications = self.body_dataset()
        self.transaction_uid = _transaction_uid(request, modifications)
        if self.transaction_uid:
            modifications.TransactionUID = self.transaction_uid
        services.ups_set(sop_instance_uid=uid, modifications=modifications)
        return self.succeeded(SUCCESS)


class StateView(UpsRsView):
    """Change Workitem State (PUT, 11.7): claim, complete or cancel, with the
    Transaction UID the performer made when it claimed."""

    transactions = {"PUT": statuses.CHANGE_STATE}

    def put(self, request, uid):
        change = self.body_dataset()
        state = change.get("ProcedureStepState")
        if not state:
            raise BodyError("Procedure Step State (0074,1000) is required")
        self.transaction_uid = change.get("TransactionUID") or None
        status = services.ups_change_state(
            sop_instance_uid=uid, requested_state=state, transaction_uid=self.transaction_uid
        )
        return self.succeeded(status)


class CancelRequestView(UpsRsView):
    """Request Cancellation (POST, 11.8): 202, the request accepted; the
    performer, told through the subscribers, decides (PS3.4 CC.2.2.3)."""

    transactions = {"POST": statuses.CANCEL_REQUEST}

    def post(self, request, uid):
        status = services.ups_request_cancel(
            sop_instance_uid=uid,
            requesting_ae=_requesting_ae(request),
            request=self.body_dataset(required=False) or Dataset(),
        )
        return self.succeeded(status)


class SubscriptionView(UpsRsView):
    """Subscribe (POST, 11.10) and Unsubscribe (DELETE, 11.11): to one workitem,
    to all (the global instance) or to those matching `filter` (the filtered
    global instance)."""

    transactions = {"POST": statuses.SUBSCRIBE, "DELETE": statuses.UNSUBSCRIBE}

    def post(self, request, uid, aetitle):
        filters = request.query_params.getlist("filter")
        filtered = uid == FILTERED_GLOBAL_SUBSCRIPTION_UID
        if filtered and not filters:
            raise QueryError("A filtered worklist subscription needs its filter")
        if filters and not filtered:
            raise QueryError(f"filter is for {FILTERED_GLOBAL_SUBSCRIPTION_UID} only")
        ae_title = _ae_title(aetitle)
        status = services.ups_subscribe(
            sop_instance_uid=uid,
            receiving_ae=ae_title,
            deletion_lock=_deletion_lock(request),
            matching_keys=filter_keys(filters) if filtered else None,
            delivery=Delivery.WEBSOCKET,
            owner=request.user,
        )
        # PS3.18 11.10: the events come over the WebSocket this names, which the
        # subscriber opens (ris.upsrs.websocket).
        channel = request.build_absolute_uri(f"/dicomweb/subscribers/{ae_title}")
        channel = "ws" + channel.removeprefix("http")  # http -> ws, https -> wss
        return self.succeeded(status, headers={"Content-Location": channel})

    def delete(self, request, uid, aetitle):
        status = services.ups_unsubscribe(
            sop_instance_uid=uid,
            receiving_ae=_ae_title(aetitle),
            delivery=Delivery.WEBSOCKET,
            owner=request.user,
        )
        return self.succeeded(status)


class SuspendView(UpsRsView):
    """Suspend Global Subscription (POST, 11.12): no new workitems are subscribed."""

    transactions = {"POST": statuses.SUSPEND}

    def post(self, request, uid, aetitle):
        status = services.ups_suspend_global_subscription(
            sop_instance_uid=uid,
            receiving_ae=_ae_title(aetitle),
            delivery=Delivery.WEBSOCKET,
            owner=request.user,
        )
        return self.succeeded(status)


# --- reading the request


def _create_uid(request, attributes: Dataset) -> str | None:
    """The new workitem's UID: the query string itself (`/workitems?1.2.3`,
    PS3.18 11.4.1), or `workitem=`, or else SOP Instance UID in the body; none
    of them and the RIS makes one (the Location says which)."""
    bare = [part for part in request.META.get("QUERY_STRING", "").split("&") if "=" not in part]
    in_query = next(filter(None, bare), None) or request.query_params.get("workitem")
    in_body = str(attributes.get("SOPInstanceUID") or "") or None
    if in_query and in_body and in_query != in_body:
        raise BodyError(f"SOP Instance UID {in_body} in the body is not {in_query} of the URI")
    return in_query or in_body


def _transaction_uid(request, modifications: Dataset) -> str | None:
    """The Transaction UID of an Update: the `transaction-uid` query parameter
    (PS3.18 11.6.1; any case, as dcm4chee's `Transaction-uid`) or (0008,1195)
    in the body, PS3.18 being read both ways."""
    params = request.query_params
    in_query = next((v for k, v in params.items() if k.lower() == "transaction-uid"), None)
    in_body = str(modifications.get("TransactionUID") or "") or None
    if in_query and in_body and in_query != in_body:
        raise BodyError("The Transaction UID in the query and in the body differ")
    return in_query or in_body


def _requesting_ae(request) -> str:
    """Requesting AE (0074,1236) of the UPS Cancel Requested event: HTTP has no
    AE title (PS3.18 11.8), so the `requester` parameter (dcm4chee's name) or
    else the user's name, as an AE title is at most 16 characters."""
    requester = request.query_params.get("requester")
    if requester:
        return _ae_title(requester)
    return request.user.get_username()[:16]


def _ae_title(value: str) -> str:
    try:
        validate_ae_title(value)
    except ValidationError as error:
        raise QueryError(f"{value!r}: {error.messages[0]}") from None
    return value.strip()


def _deletion_lock(request) -> bool:
    value = request.query_params.get("deletionlock", "false")
    if value not in ("true", "false"):
        raise QueryError(f"deletionlock is true or false, not {value!r}")
    return value == "true"


def _full(dataset: Dataset) -> Dataset | None:
    """includefield=all: the whole workitem, as Retrieve gives it; None if it
    left the worklist since it matched."""
    try:
        full, _ = services.ups_get(sop_instance_uid=dataset.SOPInstanceUID)
    except DicomError:
        return None
    set_response_character_set(full, Dataset())
    return full
