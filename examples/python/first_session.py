#!/usr/bin/env python3
"""README "A first session", from Python: register a trained model, upload the sample digits, synthesize metamers,
wait, list and download them, and read the recognizability curve.

    npm start                                   # in another terminal
    python3 examples/python/first_session.py    # from the repository root (finds .data/api-key by itself)

Options by environment: METAMERS_URL, METAMERS_API_KEY or METAMERS_DATA_DIR (as the CLI), and OUT (the download
folder, default ./first-session). Rerunning reuses the model (same file and name), the set (by name) and the batch
(idempotency key). Written as notebook cells (`# %%`): paste them into Jupyter one by one if you prefer.
"""

# %% Set-up: the client is one standard-library file; put its folder on the path (or copy it next to your script).
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

from metamers_client import MetamersClient, MetamersError, as_dataframe  # noqa: E402

hub = MetamersClient()  # url and key: METAMERS_URL / METAMERS_API_KEY, else .data/server.json and .data/api-key
print("hub", hub.url, hub.health())

# %% Register a model. models/demo/lenet.onnx is a trained MNIST LeNet (clean test accuracy 0.98; see README "The demo
# models"); the ONNX fixtures in ../shared/fixtures are untrained (random weights) and only good for testing gradients.
# Stage labels are friendly names for tensor names; every argument that takes a stage accepts either (the last stage,
# the tensor `logits`, needs no label: "final" and "FINAL" are reserved words for it in setStageLabels).
STAGES = {
    "conv1_relu": "/relu1/Relu_output_0",
    "conv2_relu": "/relu2/Relu_output_0",
    "fc1_relu": "/relu3/Relu_output_0",
    "fc2_relu": "/relu4/Relu_output_0",
}
model = hub.register_model(
    os.path.join(ROOT, "models", "demo", "lenet.onnx"),
    name="lenet",
    class_labels=[str(d) for d in range(10)],
    stage_labels=STAGES,
)
# The same file under the same name returns the registered version as it is: give it these labels if it has others.
if model["stageLabels"] != STAGES:
    model = hub.set_stage_labels(model["id"], STAGES)
print("model %s v%d: %d layers" % (model["name"], model["version"], len(model["layers"])))
for layer in model["layers"]:
    print("  %2d %-8s %-16s %s %s" % (layer["order"], layer["producerOp"], layer["shape"], layer["name"], layer["label"] or ""))

# %% A stimulus set with the ten sample digits of examples/images/ (drawn by examples/images/make_digits.py), labelled
# by the digit in their file name. The hub makes each one a tensor of the model's input shape ([1, 1, 28, 28]).
images = os.path.join(ROOT, "examples", "images")
files = sorted(os.path.join(images, f) for f in os.listdir(images) if f.endswith(".png"))
existing = [s for s in hub.list_stimulus_sets() if s["name"] == "python-digits"]
if existing:
    digit_set = existing[0]
    stimuli = hub.list_stimuli(digit_set["id"])
else:
    digit_set = hub.create_stimulus_set("python-digits", class_labels=[str(d) for d in range(10)])
    stimuli = hub.add_stimuli(digit_set["id"], files, label=lambda p: os.path.basename(p)[len("digit-") :][0], model_id=model["id"])
print("set %s: %d stimuli" % (digit_set["id"], len(stimuli)))

# %% Synthesize: one metamer per (digit, stage), a short schedule (2 rounds x 50 steps; the paper's is 8 x 3000).
# The batch id is printed first, then the progress from the batch's real job counts; failures raise MetamersError.
try:
    batch = hub.synthesize_and_wait(
        model["id"], ["conv1_relu", "fc1_relu", "logits"], set_id=digit_set["id"], rounds=2, steps_per_round=50,
        idempotency_key="python-first-session", poll_seconds=1,
    )  # fmt: skip
except MetamersError as e:
    sys.exit("synthesis failed: %s (code %s)" % (e.message, e.code))

# %% List the batch's metamers (the client follows the connection's cursors) and download them: rendering (PNG), float32
# tensor and certificate (JSON) per metamer, and index.csv.
metamers = hub.list_metamers(filter={"batchIds": [batch["id"]]}, order="OLDEST_FIRST")
passed = [m for m in metamers if m["passed"]]
print("%d metamers, %d passed validation" % (len(metamers), len(passed)))
out = os.environ.get("OUT", "first-session")
print("index:", hub.download_metamers(metamers, out))

# %% Results as lists of dicts: the recognizability curve of the generating model on its own validated metamers, by
# stage (natural digits first). With more models registered, observer="OTHER_MODELS" and a recognizer panel give the
# paper's other-models curve (run hub.recognize_backlog(model_id) for each model first).
curve = hub.curve(model["id"], observer="GENERATOR", batch_ids=[batch["id"]])
for p in curve:
    print("  %-12s mean %.2f  n %d" % ("natural" if p["natural"] else p["stageLabel"] or p["stage"], p["mean"], p["n"]))

# %% The same rows as a pandas DataFrame, when pandas is installed.
try:
    print(as_dataframe(curve)[["stage", "stageLabel", "mean", "n"]])
except ImportError as e:
    print(e)
