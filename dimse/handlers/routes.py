"""N-CREATE and N-SET serve two SOP classes: MPPS and UPS Push. The request's
SOP class decides which handler takes it."""

from dimse.handlers import mpps, ups


def handle_n_create(event):
    if ups.is_ups(event.request.AffectedSOPClassUID):
        return ups.handle_n_create(event)
    return mpps.handle_n_create(event)


def handle_n_set(event):
    if ups.is_ups(event.request.RequestedSOPClassUID):
        return ups.handle_n_set(event)
    return mpps.handle_n_set(event)
