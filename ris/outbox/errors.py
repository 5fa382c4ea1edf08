"""The one error a deliver function raises: the message did not get through."""


class DeliveryError(Exception):
    """A failed delivery; `permanent` when retrying the same message cannot succeed.

    Transient (the default): the destination is down, busy or not answering;
    the message keeps its place and is retried with back-off. Permanent: the
    destination refused this message for what it is; it is marked dead and the
    messages queued behind it go ahead.
    """

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent
