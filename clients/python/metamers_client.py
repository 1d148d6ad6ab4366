"""A Python client for Metamer Hub's GraphQL API, for lab scripts.

Standard library only (urllib, json, hashlib); Python 3.9 or newer. Copy this one file next to your scripts, or add
``clients/python`` to ``sys.path``. Results come back as lists of dicts; ``as_dataframe(rows)`` turns them into a pandas
DataFrame when pandas is installed.

    from metamers_client import MetamersClient
    hub = MetamersClient("http://127.0.0.1:4000", api_key=open(".data/api-key").read().strip())
    model = hub.register_model("models/demo/lenet.onnx", name="lenet", class_labels=[str(d) for d in range(10)])

Every error of the API raises ``MetamersError`` with the API's code (``extensions.code``: ``BAD_USER_INPUT``,
``NOT_FOUND``, ``UNAUTHENTICATED``, ...) or a client-side one (``UNREACHABLE``, ``BAD_RESPONSE``, ``UPLOAD_FAILED``,
``DOWNLOAD_FAILED``, ``JOBS_FAILED``, ``TIMEOUT``).
"""

import base64
import csv
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

__all__ = ["MetamersClient", "MetamersError", "as_dataframe"]

JsonDict = Dict[str, Any]
PathLike = Union[str, "os.PathLike[str]"]

# The API's own limits (README "Limits"): a connection page holds at most 500 items, addStimuli 1,000 files, and a
# GraphQL body carries 64 MiB of inline files by default. The client stays well inside them.
PAGE_SIZE = 200
STIMULI_PER_REQUEST = 200
INLINE_BYTES_PER_REQUEST = 32 * 1024 * 1024
MODEL_INLINE_LIMIT = 16 * 1024 * 1024
STIMULUS_INLINE_LIMIT = 4 * 1024 * 1024

# ---------------------------------------------------------------------------------------------------------------------
# GraphQL documents. Kept here, in plain text, so a reader sees exactly what each method asks for (no code generation).
# ---------------------------------------------------------------------------------------------------------------------

MODEL_FIELDS = "id name version modality sha256 inputShape inputRange classLabels stageLabels createdAt"
LAYER_FIELDS = "order name label shape producerOp differentiable"
STIMULUS_FIELDS = "id setId label filename sha256 shape position"
COUNTS_FIELDS = "counts { queued running succeeded failed cancelled }"
BATCH_FIELDS = "id modelId seed idempotencyKey configHash cancelledAt createdAt " + COUNTS_FIELDS
METAMER_FIELDS = """id jobId batchId stage stageLabel seed passed sha256 renderingSha256 renderingUrl tensorUrl configHash createdAt
  model { id name version modality }
  stimulus { id setId label filename sha256 }
  validation {
    similarity { spearman pearson snr }
    metrics { metric value nullMax passed uninformative }
    nullPairs nullSeed nullMaxima { spearman pearson snr }
    nullSource { kind referenceNullId setId n seed }
    passedNull uninformative underpowered naturalLabel metamerLabel passedLabel passed
  }"""

Q_HEALTH = "query Health { health { ok database version } }"
Q_MODEL = "query Model($id: ID!) { model(id: $id) { %s layers { %s } } }" % (MODEL_FIELDS, LAYER_FIELDS)
Q_MODELS = """query Models($filter: ModelFilter, $first: Int, $after: String) {
  models(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { %s } } } }""" % MODEL_FIELDS
M_REGISTER_MODEL = "mutation RegisterModel($i: RegisterModelInput!) { registerModel(input: $i) { %s layers { %s } } }" % (
    MODEL_FIELDS,
    LAYER_FIELDS,
)
M_SET_STAGE_LABELS = "mutation SetStageLabels($id: ID!, $labels: [StageLabelInput!]!) { setStageLabels(modelId: $id, labels: $labels) { %s layers { %s } } }" % (
    MODEL_FIELDS,
    LAYER_FIELDS,
)
M_CREATE_UPLOAD = "mutation CreateUpload($i: CreateUploadInput!) { createUpload(input: $i) { id url headers { name value } } }"
M_CREATE_SET = "mutation CreateStimulusSet($i: CreateStimulusSetInput!) { createStimulusSet(input: $i) { id name modality classLabels createdAt } }"
Q_SETS = """query StimulusSets($first: Int, $after: String) {
  stimulusSets(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name modality classLabels createdAt } } } }"""
M_ADD_STIMULI = "mutation AddStimuli($i: AddStimuliInput!) { addStimuli(input: $i) { %s } }" % STIMULUS_FIELDS
Q_SET_STIMULI = """query SetStimuli($id: ID!, $first: Int, $after: String) {
  stimulusSet(id: $id) { stimuli(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { %s } } } } }""" % STIMULUS_FIELDS
M_SYNTHESIZE = "mutation Synthesize($i: SynthesizeMetamersInput!) { synthesizeMetamers(input: $i) { %s } }" % BATCH_FIELDS
Q_BATCH = "query Batch($id: ID!) { synthesisBatch(id: $id) { %s } }" % BATCH_FIELDS
Q_BATCHES = """query Batches($filter: SynthesisBatchFilter, $order: ListOrder!, $first: Int, $after: String) {
  synthesisBatches(filter: $filter, order: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { %s } } } }""" % BATCH_FIELDS
Q_BATCH_FAILURES = """query BatchFailures($id: ID!) { synthesisBatch(id: $id) {
  jobs(status: FAILED, first: 20) { id stage error { code message } } } }"""
Q_METAMER = "query Metamer($id: ID!) { metamer(id: $id) { %s } }" % METAMER_FIELDS
Q_METAMERS = """query Metamers($filter: MetamerFilter, $order: ListOrder!, $first: Int, $after: String) {
  metamers(filter: $filter, order: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { %s } } } }""" % METAMER_FIELDS
Q_CURVE = """query Curve($modelId: ID!, $observer: RecognitionObserver!, $recognizerId: ID, $panelId: ID, $batchIds: [ID!],
                    $configHash: String, $pool: Boolean!) {
  recognizabilityCurve(modelId: $modelId, observer: $observer, recognizerId: $recognizerId, panelId: $panelId,
                       batchIds: $batchIds, configHash: $configHash, poolConfigurations: $pool) {
    stage stageLabel order natural mean sem n configHashes recognizerIds recognizerCount panelId } }"""
Q_MATRIX = """query Matrix($generatorIds: [ID!]!, $recognizerIds: [ID!], $stage: String!, $panelId: ID, $batchIds: [ID!],
                     $configHash: String, $pool: Boolean!) {
  crossModelMatrix(generatorIds: $generatorIds, recognizerIds: $recognizerIds, stage: $stage, panelId: $panelId,
                   batchIds: $batchIds, configHash: $configHash, poolConfigurations: $pool) {
    generatorId recognizerId stage stageLabel accuracy n configHashes } }"""
Q_IDIOSYNCRASY = """query Idiosyncrasy($modality: StudyModality!, $studyId: ID, $excludeStages: [String!], $panelId: ID,
                            $batchIds: [ID!], $configHash: String, $pool: Boolean!, $resamples: Int!, $seed: Int!) {
  idiosyncrasy(modality: $modality, studyId: $studyId, excludeStages: $excludeStages, panelId: $panelId, batchIds: $batchIds,
               configHash: $configHash, poolConfigurations: $pool, resamples: $resamples, seed: $seed) {
    excludeStages spearmanRho pearsonR r2 kendallTau n ci95 { low high } configHashes recognizerIds recognizerCount panelId
    points { modelId model stage stageLabel human otherModels recognizerCount configHashes } } }"""
M_RECOGNIZE_BACKLOG = "mutation RecognizeBacklog($id: ID!) { recognizeBacklog(modelId: $id) }"
M_CREATE_PANEL = "mutation CreatePanel($name: String!, $ids: [ID!]!) { createRecognizerPanel(name: $name, modelIds: $ids) { id name version } }"

# The columns of the CSV index that download_metamers writes (one row per metamer).
INDEX_COLUMNS = [
    "id", "model", "modelVersion", "stage", "stageLabel", "seed", "stimulusId", "stimulusFilename", "naturalLabel",
    "metamerLabel", "passed", "batchId", "configHash", "rendering", "tensor", "certificate",
]  # fmt: skip


class MetamersError(Exception):
    """An error of the API (``code`` is its ``extensions.code``) or of the client (UNREACHABLE, TIMEOUT, ...)."""

    def __init__(self, code: str, message: str, operation: Optional[str] = None):
        super().__init__("[%s] %s" % (code, message) if operation is None else "[%s] %s (in %s)" % (code, message, operation))
        self.code = code
        self.message = message
        self.operation = operation


def as_dataframe(rows: Sequence[JsonDict]):
    """A pandas DataFrame of ``rows`` (a list of dicts, e.g. ``curve()``'s); needs pandas (``pip install pandas``)."""
    try:
        import pandas  # noqa: PLC0415 (optional dependency: imported only when asked for)
    except ImportError as e:
        raise ImportError(
            "as_dataframe needs pandas, which is not installed (pip install pandas); the rows are plain dicts without it"
        ) from e
    return pandas.DataFrame(list(rows))


def _operation(query: str) -> Optional[str]:
    words = query.split()
    return words[1].split("(")[0] if len(words) > 1 and words[0] in ("query", "mutation") else None


def _drop_none(d: JsonDict) -> JsonDict:
    return {k: v for k, v in d.items() if v is not None}


def _sha256_file(path: PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class MetamersClient:
    """A connection to one hub: its base URL (``http://127.0.0.1:4000``) and an API key.

    ``url`` defaults to ``$METAMERS_URL``, then ``$METAMERS_DATA_DIR/server.json`` (written by ``npm start``), then
    ``http://127.0.0.1:4000``; ``api_key`` to ``$METAMERS_API_KEY``, then ``$METAMERS_DATA_DIR/api-key`` (``.data`` by
    default), as the command-line client finds them.
    """

    def __init__(self, url: Optional[str] = None, api_key: Optional[str] = None, timeout: float = 120.0):
        data_dir = os.environ.get("METAMERS_DATA_DIR", ".data")
        self.url = (url or os.environ.get("METAMERS_URL") or self._url_from_data_dir(data_dir)).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("METAMERS_API_KEY") or self._key_from_data_dir(data_dir)
        self.timeout = timeout

    @staticmethod
    def _url_from_data_dir(data_dir: str) -> str:
        path = os.path.join(data_dir, "server.json")
        if not os.path.exists(path):
            return "http://127.0.0.1:4000"
        try:
            with open(path, encoding="utf-8") as f:
                return str(json.load(f)["url"])
        except (ValueError, KeyError, TypeError) as e:
            raise MetamersError("BAD_LOCAL_CONFIG", "%s: expected JSON with a \"url\" string (%s)" % (path, e)) from e

    @staticmethod
    def _key_from_data_dir(data_dir: str) -> Optional[str]:
        path = os.path.join(data_dir, "api-key")
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None

    # -- transport ----------------------------------------------------------------------------------------------------

    def _headers(self) -> Dict[str, str]:
        return {"authorization": "Bearer " + self.api_key} if self.api_key else {}

    def _open(self, req: urllib.request.Request, what: str, code_if_failed: str):
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            # The API answers errors as { errors: [{ message, extensions: { code } }] }, also on /blobs and /uploads.
            body = e.read()
            try:
                err = json.loads(body)["errors"][0]
                raise MetamersError(err.get("extensions", {}).get("code", code_if_failed), "%s: %s" % (what, err["message"])) from None
            except (ValueError, KeyError, IndexError, TypeError):
                raise MetamersError(code_if_failed, "%s: HTTP %d %s" % (what, e.code, body[:200].decode("utf-8", "replace"))) from None
        except urllib.error.URLError as e:
            raise MetamersError("UNREACHABLE", "cannot reach %s (%s); is the server running?" % (self.url, e.reason)) from None

    def graphql(self, query: str, variables: Optional[JsonDict] = None) -> JsonDict:
        """Runs one GraphQL operation and returns its ``data``; the first error raises ``MetamersError``."""
        operation = _operation(query)
        body = json.dumps({"query": query, "variables": variables or {}}).encode("utf-8")
        req = urllib.request.Request(
            self.url + "/graphql", data=body, method="POST", headers={"content-type": "application/json", **self._headers()}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                status, text = res.status, res.read()
        except urllib.error.HTTPError as e:
            # GraphQL errors may come with 4xx/5xx statuses; their body is still the GraphQL answer.
            status, text = e.code, e.read()
        except urllib.error.URLError as e:
            raise MetamersError("UNREACHABLE", "cannot reach %s (%s); is the server running?" % (self.url, e.reason), operation) from None
        try:
            answer = json.loads(text)
        except ValueError:
            raise MetamersError(
                "BAD_RESPONSE", "unexpected response from %s (HTTP %d): %s" % (self.url, status, text[:200].decode("utf-8", "replace")), operation
            ) from None
        if answer.get("errors"):
            err = answer["errors"][0]
            raise MetamersError((err.get("extensions") or {}).get("code", "ERROR"), err.get("message", "?"), operation)
        if answer.get("data") is None:
            raise MetamersError("BAD_RESPONSE", "expected data or errors from %s (HTTP %d), got %s" % (self.url, status, text[:200]), operation)
        return answer["data"]

    def _pages(self, query: str, field: str, variables: JsonDict, limit: Optional[int], page_size: int) -> Iterator[JsonDict]:
        """Every node of a Relay connection, page by page (``after`` = the previous page's ``endCursor``)."""
        after = None
        seen = 0
        while True:
            first = page_size if limit is None else min(page_size, limit - seen)
            if first <= 0:
                return
            conn = self.graphql(query, {**variables, "first": first, "after": after})
            for key in field.split("."):
                conn = conn[key]
            for edge in conn["edges"]:
                seen += 1
                yield edge["node"]
            if not conn["pageInfo"]["hasNextPage"] or not conn["edges"]:
                return
            after = conn["pageInfo"]["endCursor"]

    # -- files --------------------------------------------------------------------------------------------------------

    def upload(self, path: PathLike, purpose: str) -> str:
        """Two-step upload of a large file (``purpose`` MODEL or STIMULUS): createUpload, then PUT; returns the upload id."""
        size = os.path.getsize(path)
        ticket = self.graphql(M_CREATE_UPLOAD, {"i": {"purpose": purpose, "byteSize": size, "sha256": _sha256_file(path)}})["createUpload"]
        # Exactly the headers the ticket lists: the hub's own URL wants the key, a presigned S3 URL must not get it.
        headers = {"content-length": str(size)}
        for h in ticket["headers"]:
            if h["name"].lower() == "authorization":
                headers.update(self._headers())
            else:
                headers[h["name"].lower()] = h["value"]
        with open(path, "rb") as f:
            req = urllib.request.Request(ticket["url"], data=f, method="PUT", headers=headers)
            with self._open(req, "upload %s" % path, "UPLOAD_FAILED"):
                pass
        return ticket["id"]

    def _file_input(self, path: PathLike, purpose: str, inline_limit: int) -> JsonDict:
        if os.path.getsize(path) > inline_limit:
            return {"uploadId": self.upload(path, purpose)}
        with open(path, "rb") as f:
            return {"data": base64.b64encode(f.read()).decode("ascii")}

    def download(self, sha256_or_url: str, dest: PathLike) -> str:
        """Saves one file of your group (a sha256, or a URL the API gave, e.g. ``renderingUrl``) to ``dest``; returns its path."""
        url = sha256_or_url
        if len(url) == 64 and all(c in "0123456789abcdef" for c in url):
            url = "%s/blobs/%s" % (self.url, url)
        with self._open(urllib.request.Request(url, headers=self._headers()), "download %s" % url, "DOWNLOAD_FAILED") as res:
            tmp = "%s.part" % os.fspath(dest)
            with open(tmp, "wb") as f:
                for chunk in iter(lambda: res.read(1 << 20), b""):
                    f.write(chunk)
        os.replace(tmp, dest)
        return os.fspath(dest)

    # -- models -------------------------------------------------------------------------------------------------------

    def health(self) -> JsonDict:
        """The hub's ``{ ok, database, version }`` (needs no key)."""
        return self.graphql(Q_HEALTH)["health"]

    def register_model(
        self,
        path: PathLike,
        name: str,
        modality: str = "IMAGE",
        class_labels: Optional[Sequence[str]] = None,
        stage_labels: Optional[Dict[str, str]] = None,
        input_range: Optional[Sequence[float]] = None,
        sample_rate: Optional[int] = None,
        training: Optional[JsonDict] = None,
        **extra: Any,
    ) -> JsonDict:
        """Registers an ONNX file (inline up to 16 MiB, else a two-step upload); returns the model with its layers.

        ``stage_labels`` maps friendly names to tensor names (``{"conv1": "/relu1/Relu_output_0"}``); ``training`` is a
        ``TrainingInput`` dict (``{"regime": "STANDARD"}``); further ``RegisterModelInput`` fields go in ``extra`` by
        their GraphQL names (e.g. ``normalization={...}`` where the hub has it).
        """
        source = self._file_input(path, "MODEL", MODEL_INLINE_LIMIT)
        i = _drop_none(
            {
                "name": name,
                "modality": modality,
                "classLabels": list(class_labels) if class_labels is not None else None,
                "stageLabels": stage_labels,
                "inputRange": list(input_range) if input_range is not None else None,
                "sampleRate": sample_rate,
                "training": training,
                **extra,
                **source,
            }
        )
        return self.graphql(M_REGISTER_MODEL, {"i": i})["registerModel"]

    def set_stage_labels(self, model_id: str, stage_labels: Dict[str, str]) -> JsonDict:
        """Replaces a model's stage labels (``{label: tensor name}``; metadata only, no result changes); returns the model."""
        labels = [{"label": k, "stage": v} for k, v in stage_labels.items()]
        return self.graphql(M_SET_STAGE_LABELS, {"id": model_id, "labels": labels})["setStageLabels"]

    def get_model(self, model_id: str) -> Optional[JsonDict]:
        """One model with its layer catalogue (``None`` when there is none with that id)."""
        return self.graphql(Q_MODEL, {"id": model_id})["model"]

    def list_models(self, filter: Optional[JsonDict] = None, limit: Optional[int] = None) -> List[JsonDict]:
        """The models you can read, newest first; ``filter`` is a ``ModelFilter`` dict (``{"names": ["lenet"]}``)."""
        return list(self._pages(Q_MODELS, "models", {"filter": filter}, limit, PAGE_SIZE))

    # -- stimuli ------------------------------------------------------------------------------------------------------

    def create_stimulus_set(self, name: str, modality: str = "IMAGE", class_labels: Optional[Sequence[str]] = None, sample_rate: Optional[int] = None) -> JsonDict:
        """A new, empty stimulus set of your group; returns ``{ id, name, modality, classLabels, createdAt }``."""
        i = _drop_none({"name": name, "modality": modality, "classLabels": list(class_labels) if class_labels else None, "sampleRate": sample_rate})
        return self.graphql(M_CREATE_SET, {"i": i})["createStimulusSet"]

    def list_stimulus_sets(self, limit: Optional[int] = None) -> List[JsonDict]:
        """Your group's stimulus sets, newest first: ``{ id, name, modality, classLabels, createdAt }`` each."""
        return list(self._pages(Q_SETS, "stimulusSets", {}, limit, PAGE_SIZE))

    def add_stimuli(
        self,
        set_id: str,
        files: Iterable[PathLike],
        label: Union[str, Callable[[str], str], None] = None,
        labels: Optional[Sequence[str]] = None,
        model_id: Optional[str] = None,
        input_shape: Optional[Sequence[int]] = None,
        rms: Optional[float] = None,
        progress: bool = False,
        **extra: Any,
    ) -> List[JsonDict]:
        """Adds PNG/JPEG/WAV files to a set (tensors made for ``model_id``'s input); returns the stimuli in order.

        Each file's class label is ``label`` (one for all, or a function of the path), or ``labels[k]`` per file.
        Files above 4 MiB go through a two-step upload; the rest go inline, several requests when there are many.
        Further ``AddStimuliInput`` fields go in ``extra`` by their GraphQL names.
        """
        paths = [os.fspath(p) for p in files]
        if labels is not None and len(labels) != len(paths):
            raise MetamersError("BAD_USER_INPUT", "labels: expected one per file (%d), got %d" % (len(paths), len(labels)))
        if labels is None and label is None:
            raise MetamersError("BAD_USER_INPUT", "add_stimuli: expected label= (one label or a function of the path) or labels= (one per file)")

        def label_of(k: int, p: str) -> str:
            if labels is not None:
                return labels[k]
            return label(p) if callable(label) else str(label)

        common = _drop_none({"setId": set_id, "modelId": model_id, "inputShape": list(input_shape) if input_shape else None, "rms": rms, **extra})
        added: List[JsonDict] = []
        batch: List[JsonDict] = []
        batch_bytes = 0

        def send() -> None:
            nonlocal batch, batch_bytes
            if batch:
                added.extend(self.graphql(M_ADD_STIMULI, {"i": {**common, "items": batch}})["addStimuli"])
                if progress:
                    print("stimuli: %d/%d added" % (len(added), len(paths)), file=sys.stderr)
            batch, batch_bytes = [], 0

        for k, p in enumerate(paths):
            size = os.path.getsize(p)
            if batch and (len(batch) >= STIMULI_PER_REQUEST or batch_bytes + size > INLINE_BYTES_PER_REQUEST):
                send()
            item = {"label": label_of(k, p), "filename": os.path.basename(p), **self._file_input(p, "STIMULUS", STIMULUS_INLINE_LIMIT)}
            batch.append(item)
            batch_bytes += size if "data" in item else 0
        send()
        return added

    def list_stimuli(self, set_id: str, limit: Optional[int] = None) -> List[JsonDict]:
        """The stimuli of a set in the order they were added."""
        return list(self._pages(Q_SET_STIMULI, "stimulusSet.stimuli", {"id": set_id}, limit, PAGE_SIZE))

    # -- synthesis ----------------------------------------------------------------------------------------------------

    def synthesize(
        self,
        model_id: str,
        stages: Sequence[str],
        stimulus_ids: Optional[Sequence[str]] = None,
        set_id: Optional[str] = None,
        rounds: Optional[int] = None,
        steps_per_round: Optional[int] = None,
        seed: Optional[int] = None,
        seeds: Optional[Sequence[int]] = None,
        idempotency_key: Optional[str] = None,
        config: Optional[JsonDict] = None,
        null_source: Optional[JsonDict] = None,
        **extra: Any,
    ) -> JsonDict:
        """Queues one synthesis job per (stimulus, stage[, seed]); returns the batch (``id``, ``counts``, ``configHash``...).

        ``stages`` are tensor names or stage labels; the stimuli are ``stimulus_ids`` or every stimulus of ``set_id``.
        ``rounds``/``steps_per_round`` set the FEATHER_2023 schedule (``config`` takes any ``SynthesisConfigInput``
        field); ``null_source`` a ``NullSourceInput`` (``{"setId": ..., "n": 100000}``). The same ``idempotency_key``
        returns the first batch again.
        """
        if stimulus_ids is None:
            if set_id is None:
                raise MetamersError("BAD_USER_INPUT", "synthesize: expected stimulus_ids or set_id, got neither")
            stimulus_ids = [s["id"] for s in self.list_stimuli(set_id)]
        cfg = dict(config or {})
        if rounds is not None:
            cfg["rounds"] = rounds
        if steps_per_round is not None:
            cfg["stepsPerRound"] = steps_per_round
        i = _drop_none(
            {
                "modelId": model_id,
                "stages": list(stages),
                "stimulusIds": list(stimulus_ids),
                "config": cfg or None,
                "seed": seed,
                "seeds": list(seeds) if seeds is not None else None,
                "idempotencyKey": idempotency_key,
                "nullSource": null_source,
                **extra,
            }
        )
        return self.graphql(M_SYNTHESIZE, {"i": i})["synthesizeMetamers"]

    def get_batch(self, batch_id: str) -> Optional[JsonDict]:
        """A synthesis batch with its job counts (``None`` when there is none with that id)."""
        return self.graphql(Q_BATCH, {"id": batch_id})["synthesisBatch"]

    def wait(self, batch_id: str, poll_seconds: float = 2.0, timeout: Optional[float] = None, progress: bool = True, fail_on_failed: bool = True) -> JsonDict:
        """Waits until no job of the batch is queued or running; prints progress to stderr; returns the batch.

        The total is the batch's real job count (the sum of its counts, read again at every poll), so a batch returned
        again by an idempotency key is waited for too. A batch with failed jobs raises ``MetamersError("JOBS_FAILED")``
        (naming the first failures) unless ``fail_on_failed=False``; ``timeout`` seconds raise ``TIMEOUT``.
        """
        started = time.monotonic()
        last = None
        while True:
            batch = self.get_batch(batch_id)
            if batch is None:
                raise MetamersError("NOT_FOUND", "synthesis batch %s: none with that id in your group" % batch_id)
            c = batch["counts"]
            total = c["queued"] + c["running"] + c["succeeded"] + c["failed"] + c["cancelled"]
            finished = total - c["queued"] - c["running"]
            if progress:
                elapsed = time.monotonic() - started
                eta = "" if finished == 0 or finished == total else ", ETA %.0f s" % (elapsed / finished * (total - finished))
                line = "batch %s: %d/%d done (%d running, %d succeeded, %d failed, %d cancelled%s)" % (
                    batch_id, finished, total, c["running"], c["succeeded"], c["failed"], c["cancelled"], eta
                )
                if line != last:
                    print(line, file=sys.stderr)
                    last = line
            if c["queued"] == 0 and c["running"] == 0:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                raise MetamersError("TIMEOUT", "batch %s: %d of %d jobs finished after %.0f s" % (batch_id, finished, total, timeout))
            time.sleep(poll_seconds)
        if fail_on_failed and batch["counts"]["failed"] > 0:
            jobs = self.graphql(Q_BATCH_FAILURES, {"id": batch_id})["synthesisBatch"]["jobs"]
            detail = "; ".join("%s at %s: [%s] %s" % (j["id"], j["stage"], (j["error"] or {}).get("code"), (j["error"] or {}).get("message")) for j in jobs[:3])
            raise MetamersError("JOBS_FAILED", "batch %s: %d jobs failed (%s)" % (batch_id, batch["counts"]["failed"], detail))
        return batch

    def synthesize_and_wait(self, *args: Any, poll_seconds: float = 2.0, timeout: Optional[float] = None, progress: bool = True, **kwargs: Any) -> JsonDict:
        """``synthesize(...)`` then ``wait(...)``: prints the batch id first, then progress; returns the finished batch."""
        batch = self.synthesize(*args, **kwargs)
        if progress:
            print("batch %s" % batch["id"], file=sys.stderr)
        return self.wait(batch["id"], poll_seconds=poll_seconds, timeout=timeout, progress=progress)

    def list_batches(self, filter: Optional[JsonDict] = None, order: str = "NEWEST_FIRST", limit: Optional[int] = None) -> List[JsonDict]:
        """Synthesis batches you can read (every page); ``filter`` is a ``SynthesisBatchFilter`` dict."""
        return list(self._pages(Q_BATCHES, "synthesisBatches", {"filter": filter, "order": order}, limit, PAGE_SIZE))

    # -- metamers -----------------------------------------------------------------------------------------------------

    def iter_metamers(self, filter: Optional[JsonDict] = None, order: str = "NEWEST_FIRST", limit: Optional[int] = None) -> Iterator[JsonDict]:
        """Metamers you can read, page by page, as a generator (``filter``: a ``MetamerFilter`` dict)."""
        return self._pages(Q_METAMERS, "metamers", {"filter": filter, "order": order}, limit, PAGE_SIZE)

    def list_metamers(self, filter: Optional[JsonDict] = None, order: str = "NEWEST_FIRST", limit: Optional[int] = None) -> List[JsonDict]:
        """Metamers you can read (every page, or ``limit``), e.g. ``filter={"batchIds": [b], "passed": True}``.

        Each has its model, natural stimulus, stage (tensor and label) and typed certificate (``validation``).
        """
        return list(self.iter_metamers(filter, order, limit))

    def get_metamer(self, metamer_id: str) -> Optional[JsonDict]:
        """One metamer with its certificate (``None`` when there is none with that id)."""
        return self.graphql(Q_METAMER, {"id": metamer_id})["metamer"]

    def download_metamer(self, metamer: Union[str, JsonDict], folder: PathLike) -> JsonDict:
        """Saves a metamer's rendering (PNG/WAV), float32 tensor and certificate (JSON) into ``folder``; returns the paths.

        Files are named ``<metamer id>.png|.wav``, ``<metamer id>.f32`` and ``<metamer id>.certificate.json``.
        """
        m = self.get_metamer(metamer) if isinstance(metamer, str) else metamer
        if m is None:
            raise MetamersError("NOT_FOUND", "metamer %s: none with that id in your group" % metamer)
        os.makedirs(folder, exist_ok=True)
        ext = ".wav" if (m.get("model") or {}).get("modality") == "AUDIO" else ".png"
        paths = {
            "rendering": os.path.join(folder, m["id"] + ext),
            "tensor": os.path.join(folder, m["id"] + ".f32"),
            "certificate": os.path.join(folder, m["id"] + ".certificate.json"),
        }
        self.download(m["renderingUrl"], paths["rendering"])
        self.download(m["tensorUrl"], paths["tensor"])
        with open(paths["certificate"], "w", encoding="utf-8") as f:
            json.dump({"metamerId": m["id"], "stage": m["stage"], "stageLabel": m["stageLabel"], **m["validation"]}, f, indent=2)
        return paths

    def download_metamers(self, metamers: Iterable[Union[str, JsonDict]], folder: PathLike, index: str = "index.csv") -> str:
        """Downloads every metamer (see ``download_metamer``) into ``folder`` with a CSV index; returns the index's path."""
        os.makedirs(folder, exist_ok=True)
        index_path = os.path.join(folder, index)
        with open(index_path, "w", newline="", encoding="utf-8") as f:
            out = csv.DictWriter(f, fieldnames=INDEX_COLUMNS)
            out.writeheader()
            for m in metamers:
                m = self.get_metamer(m) if isinstance(m, str) else m
                paths = self.download_metamer(m, folder)
                v = m["validation"]
                out.writerow(
                    {
                        "id": m["id"],
                        "model": (m.get("model") or {}).get("name"),
                        "modelVersion": (m.get("model") or {}).get("version"),
                        "stage": m["stage"],
                        "stageLabel": m["stageLabel"],
                        "seed": m["seed"],
                        "stimulusId": (m.get("stimulus") or {}).get("id"),
                        "stimulusFilename": (m.get("stimulus") or {}).get("filename"),
                        "naturalLabel": v["naturalLabel"],
                        "metamerLabel": v["metamerLabel"],
                        "passed": m["passed"],
                        "batchId": m["batchId"],
                        "configHash": m["configHash"],
                        **{k: os.path.basename(p) for k, p in paths.items()},
                    }
                )
        return index_path

    # -- results ------------------------------------------------------------------------------------------------------

    def recognize_backlog(self, model_id: str) -> List[str]:
        """Has ``model_id`` classify every metamer and natural stimulus of the group it has not judged; returns job ids."""
        return self.graphql(M_RECOGNIZE_BACKLOG, {"id": model_id})["recognizeBacklog"]

    def create_recognizer_panel(self, name: str, model_ids: Sequence[str]) -> JsonDict:
        """Version n+1 of the recognizer panel ``name`` (the same list as the newest version returns that one)."""
        return self.graphql(M_CREATE_PANEL, {"name": name, "ids": list(model_ids)})["createRecognizerPanel"]

    def curve(
        self,
        model_id: str,
        observer: str = "OTHER_MODELS",
        recognizer_id: Optional[str] = None,
        panel_id: Optional[str] = None,
        batch_ids: Optional[Sequence[str]] = None,
        config_hash: Optional[str] = None,
        pool_configurations: bool = False,
    ) -> List[JsonDict]:
        """The recognizability curve: one dict per stage in network order, natural stimuli first.

        ``observer``: HUMAN, GENERATOR, OTHER_MODELS (a panel's or every recognizer's mean) or MODEL (``recognizer_id``).
        Each row: stage, stageLabel, order, natural, mean, sem, n, configHashes, recognizerIds, recognizerCount, panelId.
        """
        v = {
            "modelId": model_id, "observer": observer, "recognizerId": recognizer_id, "panelId": panel_id,
            "batchIds": list(batch_ids) if batch_ids is not None else None, "configHash": config_hash, "pool": pool_configurations,
        }  # fmt: skip
        return self.graphql(Q_CURVE, v)["recognizabilityCurve"]

    def matrix(
        self,
        generator_ids: Sequence[str],
        recognizer_ids: Optional[Sequence[str]] = None,
        stage: str = "FINAL",
        panel_id: Optional[str] = None,
        batch_ids: Optional[Sequence[str]] = None,
        config_hash: Optional[str] = None,
        pool_configurations: bool = False,
    ) -> List[JsonDict]:
        """The cross-model matrix as rows: generatorId, recognizerId, stage, stageLabel, accuracy, n, configHashes."""
        v = {
            "generatorIds": list(generator_ids), "recognizerIds": list(recognizer_ids) if recognizer_ids is not None else None,
            "stage": stage, "panelId": panel_id, "batchIds": list(batch_ids) if batch_ids is not None else None,
            "configHash": config_hash, "pool": pool_configurations,
        }  # fmt: skip
        return self.graphql(Q_MATRIX, v)["crossModelMatrix"]

    def idiosyncrasy_summary(
        self,
        modality: str = "VISION",
        study_id: Optional[str] = None,
        exclude_stages: Optional[Sequence[str]] = None,
        panel_id: Optional[str] = None,
        batch_ids: Optional[Sequence[str]] = None,
        config_hash: Optional[str] = None,
        pool_configurations: bool = False,
        resamples: int = 1000,
        seed: int = 0,
    ) -> JsonDict:
        """Human vs other-model recognizability: the correlations, their bootstrap interval and the (model, stage) points."""
        v = {
            "modality": modality, "studyId": study_id, "excludeStages": list(exclude_stages) if exclude_stages is not None else None,
            "panelId": panel_id, "batchIds": list(batch_ids) if batch_ids is not None else None, "configHash": config_hash,
            "pool": pool_configurations, "resamples": resamples, "seed": seed,
        }  # fmt: skip
        return self.graphql(Q_IDIOSYNCRASY, v)["idiosyncrasy"]

    def idiosyncrasy(self, modality: str = "VISION", **kwargs: Any) -> List[JsonDict]:
        """The idiosyncrasy points as rows: modelId, model, stage, stageLabel, human, otherModels, recognizerCount.

        Same arguments as ``idiosyncrasy_summary``, which also gives Spearman's rho and its interval.
        """
        return self.idiosyncrasy_summary(modality, **kwargs)["points"]

    @staticmethod
    def as_dataframe(rows: Sequence[JsonDict]):
        """``as_dataframe(rows)``: a pandas DataFrame of a result's rows (ImportError naming pandas when it is missing)."""
        return as_dataframe(rows)
