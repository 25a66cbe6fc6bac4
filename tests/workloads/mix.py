"""Which requests of a workload server are adversarial (aio_streams.py,
aio_http.py): all of them with the argument adv, none with clean, and with
mix those whose label (client-K, img-K) has an odd K."""


def mode(run, label):
    """clean or adv for the request labelled label in a run of mode run"""
    if run != "mix":
        return run
    return "adv" if int(label.split("-")[1]) % 2 else "clean"
