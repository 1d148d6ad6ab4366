"""End-to-end use of clients/python/metamers_client.py, run by test/clients/python-client.test.ts against a test server.

    METAMERS_URL=... METAMERS_API_KEY=... python3 python_client_scenario.py <model.onnx> <images dir> <out dir>

Registers the model, uploads the images (some inline, some through the two-step upload), synthesizes a tiny batch
(1 round x 5 steps), waits, lists batches and metamers (small pages, so cursors are followed), downloads every metamer
with a CSV index, reads the curve, and prints one JSON object with what it got; the test compares it with GraphQL.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))

import metamers_client as mc  # noqa: E402

model_path, images_dir, out_dir = sys.argv[1:4]

# Small pages and a small inline limit, so that this run follows cursors and uses createUpload + PUT too.
mc.PAGE_SIZE = 3
mc.STIMULUS_INLINE_LIMIT = 200

hub = mc.MetamersClient()  # METAMERS_URL and METAMERS_API_KEY from the environment
out = {"health": hub.health()}

model = hub.register_model(
    model_path,
    name="lenet-py",
    class_labels=[str(d) for d in range(10)],
    stage_labels={"conv1_relu": "/relu1/Relu_output_0", "final": "logits"},
)
out["model"] = {"id": model["id"], "layers": len(model["layers"])}

digits = sorted(f for f in os.listdir(images_dir) if f.endswith(".png"))[:4]
files = [os.path.join(images_dir, f) for f in digits]
sizes = [os.path.getsize(p) for p in files]
digit_set = hub.create_stimulus_set("py-digits", class_labels=[str(d) for d in range(10)])
stimuli = hub.add_stimuli(digit_set["id"], files, label=lambda p: os.path.basename(p)[len("digit-")], model_id=model["id"])
out["stimuli"] = [{"id": s["id"], "label": s["label"], "filename": s["filename"], "shape": s["shape"]} for s in stimuli]
out["uploaded"] = sum(1 for s in sizes if s > mc.STIMULUS_INLINE_LIMIT)

# A stage the model does not have: the API's error code reaches the caller.
try:
    hub.synthesize(model["id"], ["no_such_stage"], set_id=digit_set["id"], rounds=1, steps_per_round=5)
    out["badStage"] = None
except mc.MetamersError as e:
    out["badStage"] = {"code": e.code, "message": e.message}

batch = hub.synthesize_and_wait(
    model["id"], ["conv1_relu", "final"], stimulus_ids=[s["id"] for s in stimuli[:2]], rounds=1, steps_per_round=5,
    seed=3, idempotency_key="py-client-test", poll_seconds=0.5, timeout=600,
)  # fmt: skip
out["batch"] = batch

out["batches"] = [b["id"] for b in hub.list_batches(filter={"modelIds": [model["id"]]})]
metamers = hub.list_metamers(filter={"batchIds": [batch["id"]]}, order="OLDEST_FIRST")
out["metamers"] = [{"id": m["id"], "stage": m["stage"], "stageLabel": m["stageLabel"], "passed": m["passed"], "sha256": m["sha256"]} for m in metamers]
out["index"] = hub.download_metamers(metamers, out_dir)
out["curve"] = hub.curve(model["id"], observer="GENERATOR", batch_ids=[batch["id"]])

try:
    mc.as_dataframe(out["curve"])
    out["dataframe"] = "pandas"
except ImportError as e:
    out["dataframe"] = str(e)

print(json.dumps(out))
