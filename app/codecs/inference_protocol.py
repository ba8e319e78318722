"""The Open Inference Protocol (KServe's V2, which Triton, MLServer and Seldon speak) over REST: an infer
request's tensors as rows for the one validator, and the scores as output tensors. Free of HTTP; imported by the
/v2 views when one is called.

One input per field, as MLServer's pandas codec makes them: BYTES for a category, FP64, FP32, INT64 or INT32 for
a number, shape [rows] (or [rows, 1]). Tensors come as JSON, or with Triton's binary tensor data extension
(a JSON header of Inference-Header-Content-Length bytes, then each binary input's bytes in order); outputs are
binary when the request asks, as Triton's clients do by default."""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from app.codecs.json import check_json_size, value_schema
from app.core.errors import ReadingsError, TooManyReadings, shown
from app.core.fields import Field, Schema
from app.core.prediction import BINARY, REGRESSION, Output, Predictions, Task
from app.core.validation import JSON, TEXT, Decoded, check_count
from app.models import Model, identity

# A length in ASCII digits (str.isdigit takes "²"), without leading zeros and short enough for int() at once.
LENGTH = re.compile("0|[1-9][0-9]{0,17}")
NUMBER_TYPES = {"FP64": "d", "FP32": "f", "INT64": "q", "INT32": "i"}  # struct's little-endian codes
HEADER_LENGTH = "Inference-Header-Content-Length"  # Triton's binary tensor extension: the JSON part's bytes
TENSOR_KEYS = frozenset({"name", "shape", "datatype", "parameters", "data"})
# model_name and model_version: KServe's client sends the path's model again.
REQUEST_KEYS = frozenset({"id", "parameters", "inputs", "outputs", "model_name", "model_version"})
# binary_data_size: Triton's binary extension; content_type: MLServer's codecs name the tensor's kind.
TENSOR_PARAMETERS = frozenset({"binary_data_size", "content_type"})
NO_PARAMETERS: dict[str, Any] = {}  # read only
# The datatypes an input may have, as tuples: a datatype sent may be any JSON value, even one that cannot be hashed.
CATEGORY_TYPES, NUMBER_NAMES = ("BYTES",), tuple(NUMBER_TYPES)


class ProtocolError(ReadingsError):
    """A request the protocol does not allow; `field` names the input, output or key at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, [{"row": None, "field": field, "message": message}])
        self.field = field


@dataclass(frozen=True)
class InferRequest:
    readings: Decoded  # the inputs' values, one column per field
    outputs: tuple[str, ...]  # the outputs asked for, in order
    binary: frozenset[str]  # of those, the ones to send as binary data
    id: str | None


# The outputs a client written for MLServer's scikit-learn or XGBoost runtime asks for: the label (a regression's
# value) and each class's probability, each [rows, n] with MLServer's numpy content type.
PREDICT, PREDICT_PROBA = "predict", "predict_proba"
NUMPY = {"content_type": "np"}


def _outputs_of(task: Task) -> dict[str, Output]:
    """The outputs a request may ask for: the task's own, then MLServer's names for them."""
    declared = {output.name: output for output in task.outputs}
    if task.kind == REGRESSION:
        return {**declared, PREDICT: Output(PREDICT, "FP64", (1,))}
    classes = len(task.classes)
    return {
        **declared,
        PREDICT: Output(PREDICT, "INT64", (1,)),
        PREDICT_PROBA: Output(PREDICT_PROBA, "FP64", (classes,)),
    }


def model_config(model: Model) -> dict[str, Any]:
    """The model as Triton's model configuration describes one (GET .../config, which tritonclient's
    get_model_config reads): no batching of its own, each input a column of readings, each output as declared."""
    name, _ = identity(model)
    inputs = [
        {
            "name": f.name,
            "data_type": "TYPE_STRING" if f.categories else "TYPE_FP64",
            "format": "FORMAT_NONE",
            "dims": [-1],
        }
        for f in model.schema.fields
    ]
    outputs = [
        {"name": o.name, "data_type": f"TYPE_{'FP64' if o.datatype == 'FP64' else 'INT64'}", "dims": [-1, *o.shape]}
        for o in model.task.outputs
    ]
    return {"name": name, "platform": "turbine-status", "max_batch_size": 0, "input": inputs, "output": outputs}


def model_metadata(model: Model) -> dict[str, Any]:
    """The model's inputs, one per field, and the outputs its task declares, a dimension of rows first."""
    name, version = identity(model)
    return {
        "name": name,
        "versions": [version],
        "platform": "turbine-status",
        "inputs": [
            {"name": f.name, "datatype": "BYTES" if f.categories else "FP64", "shape": [-1]}
            for f in model.schema.fields
        ],
        "outputs": [
            {"name": output.name, "datatype": output.datatype, "shape": [-1, *output.shape]}
            for output in model.task.outputs
        ],
    }


def decode(body: bytes, header_length: str | None, model: Model, max_rows: int) -> InferRequest:
    """The readings and wanted outputs of an infer request; raises ProtocolError naming what is wrong, and
    TooManyReadings for more than max_rows readings."""
    schema = model.schema
    header, binary = _split(body, header_length)
    # A reading takes at most two marks per field, in data shaped [rows, 1]: "[" and ",".
    check_json_size(header, max_rows, 2 * schema.width)
    try:
        document = orjson.loads(header)
    except orjson.JSONDecodeError as problem:
        raise ProtocolError(f"The request is not valid JSON: {problem}.") from None
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise ProtocolError('An infer request is an object with "inputs": [{"name", "shape", "datatype", "data"}].')
    unknown = sorted(set(document) - REQUEST_KEYS)
    if unknown:
        raise ProtocolError(f"Unknown key(s) in the request: {', '.join(unknown)}.", unknown[0])
    for key, served in zip(("model_name", "model_version"), identity(model), strict=True):
        if key in document and document[key] != served:
            raise ProtocolError(f"{key} {shown(repr(document[key]))} is not the path's: {served}.", key)
    if _is_matrix(document["inputs"], schema):
        return _matrix_request(document, binary, model, max_rows)
    by_name: dict[str, list[Any]] = {}
    offset = 0
    for tensor in document["inputs"]:
        name, values, offset = _input(tensor, binary, offset, schema, max_rows)
        if name in by_name:
            raise ProtocolError(f"Input {name} is given twice.", name)
        by_name[name] = values
    if offset != len(binary):
        raise ProtocolError(f"{len(binary) - offset} bytes of binary data follow the inputs' binary_data_size.")
    missing = [f.name for f in schema.fields if f.name not in by_name]
    if missing:
        raise ProtocolError(f"Missing input(s): {', '.join(missing)}.", missing[0])
    counts = {len(values) for values in by_name.values()}
    if len(counts) != 1:
        raise ProtocolError("Every input must hold one value per reading: their shapes differ.")
    outputs, binary_outputs = _outputs(document, _outputs_of(model.task))
    request_id = document.get("id")
    if "id" in document and not isinstance(request_id, str):
        raise ProtocolError("id must be a string.", "id")
    (count,) = counts
    check_count(count, max_rows)
    readings = Decoded(JSON, [([by_name[name] for name in schema.names], range(1, count + 1))])
    return InferRequest(readings, outputs, binary_outputs, request_id)


def _is_matrix(inputs: list[Any], schema: Schema) -> bool:
    """Whether the inputs are one [rows, fields] tensor, as a client of MLServer's numpy codec sends a table."""
    if len(inputs) != 1 or not isinstance(inputs[0], dict):
        return False
    shape = inputs[0].get("shape")
    return (
        type(shape) is list
        and len(shape) == 2
        and shape[1] == schema.width
        and (schema.width > 1 or inputs[0].get("name") not in schema.by_name)
    )


def _matrix_request(document: dict[str, Any], binary: bytes, model: Model, max_rows: int) -> InferRequest:
    """An infer request whose one input is a [rows, fields] matrix in field order: BYTES are read as CSV's texts
    are, numbers (for a model of numbers alone) as JSON's."""
    schema, tensor = model.schema, document["inputs"][0]
    name = tensor.get("name")
    if not isinstance(name, str) or tensor.keys() - TENSOR_KEYS:
        raise ProtocolError('Each input must be an object with a "name", "shape", "datatype" and "data".')
    rows, datatype = tensor["shape"][0], tensor.get("datatype")
    categories = [f.name for f in schema.fields if f.categories]
    if datatype not in ("BYTES", *NUMBER_NAMES) or (datatype != "BYTES" and categories):
        allowed = "BYTES" if categories else "BYTES, FP64, FP32, INT64 or INT32"
        why = f" ({', '.join(categories)} are categories)" if categories and datatype in NUMBER_NAMES else ""
        raise ProtocolError(f"Input {name}, a [rows, {schema.width}] matrix, must have datatype {allowed}{why}.", name)
    if type(rows) is not int or rows < 0:
        raise ProtocolError(f"Input {name} must have shape [rows, {schema.width}], not {tensor['shape']!r}.", name)
    if rows > max_rows:
        raise TooManyReadings(rows, max_rows)
    parameters = tensor.get("parameters", NO_PARAMETERS)
    if not isinstance(parameters, dict) or parameters.keys() - TENSOR_PARAMETERS:
        raise ProtocolError(f"Input {name}'s parameters may hold only {', '.join(sorted(TENSOR_PARAMETERS))}.", name)
    size, flat_shape = parameters.get("binary_data_size"), [rows * schema.width]
    if size is not None:
        if type(size) is not int or size != len(binary) or "data" in tensor:
            raise ProtocolError(f"Input {name}'s binary_data_size is not the bytes that follow.", name)
        values = _decoded(binary, datatype, name, flat_shape)
    elif "data" in tensor:
        values = _matrix_values(tensor["data"], name, schema.width)
        _check_length(len(values), name, flat_shape)
    else:
        raise ProtocolError(f"Input {name} has no data.", name)
    if datatype.startswith("INT") and not all(type(v) is int for v in values):
        raise ProtocolError(f"Input {name} is {datatype}: its data must be whole numbers.", name)
    outputs, binary_outputs = _outputs(document, _outputs_of(model.task))
    request_id = document.get("id")
    if "id" in document and not isinstance(request_id, str):
        raise ProtocolError("id must be a string.", "id")
    check_count(rows, max_rows)
    columns: list[Sequence[Any]] = [values[i :: schema.width] for i in range(schema.width)]
    readings = Decoded(TEXT if datatype == "BYTES" else JSON, [(columns, range(1, rows + 1))])
    return InferRequest(readings, outputs, binary_outputs, request_id)


def _matrix_values(data: Any, name: str, width: int) -> list[Any]:
    """A matrix's JSON data in row order: flat, or a list of rows."""
    if type(data) is not list:
        raise ProtocolError(f"Input {name}'s data must be a list.", name)
    if data and type(data[0]) is list:
        if not all(type(row) is list and len(row) == width for row in data):
            raise ProtocolError(f"Input {name}'s rows must hold {width} values each.", name)
        return [value for row in data for value in row]
    return data


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not LENGTH.fullmatch(header_length) or int(header_length) > len(body):
        raise ProtocolError("Inference-Header-Content-Length must be the JSON header's length in bytes.")
    return body[: int(header_length)], body[int(header_length) :]


def _input(tensor: Any, binary: bytes, offset: int, schema: Schema, max_rows: int) -> tuple[str, list[Any], int]:
    """One input's name and values, and where the next input's binary data starts."""
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise ProtocolError('Each input must be an object with a "name".')
    name = tensor["name"]
    if tensor.keys() - TENSOR_KEYS:
        raise ProtocolError(f"Unknown key(s) in input {name}: {', '.join(sorted(tensor.keys() - TENSOR_KEYS))}.", name)
    parameters = tensor.get("parameters", NO_PARAMETERS)
    if parameters is not NO_PARAMETERS:
        if not isinstance(parameters, dict) or parameters.keys() - TENSOR_PARAMETERS:
            allowed = ", ".join(sorted(TENSOR_PARAMETERS))
            raise ProtocolError(f"Input {name}'s parameters may hold only {allowed}.", name)
        if not isinstance(parameters.get("content_type", ""), str):
            raise ProtocolError(f"Input {name}'s content_type must be a string.", name)
    field = schema.by_name.get(name)
    if field is None:
        raise ProtocolError(f"Unknown input {name}; the inputs are the fields: {', '.join(schema.names)}.", name)
    datatype, shape = tensor.get("datatype"), tensor.get("shape")
    if datatype not in (types := CATEGORY_TYPES if field.categories else NUMBER_NAMES):
        allowed = " or ".join(types)
        raise ProtocolError(f"Input {name} must have datatype {allowed}, not {datatype!r}.", name)
    if (
        type(shape) is not list
        or not 1 <= len(shape) <= 2
        or type(shape[0]) is not int
        or shape[0] < 0
        or (len(shape) == 2 and (type(shape[1]) is not int or shape[1] != 1))
    ):
        raise ProtocolError(f"Input {name} must have shape [rows] or [rows, 1], not {shape!r}.", name)
    if shape[0] > max_rows:  # before binary data becomes a value each
        raise TooManyReadings(shape[0], max_rows)
    size = parameters.get("binary_data_size")
    if size is not None and "data" in tensor:
        raise ProtocolError(f"Input {name} has both data and binary_data_size: send one.", name)
    if size is not None:
        if type(size) is not int or size < 0 or offset + size > len(binary):
            raise ProtocolError(f"Input {name}'s binary_data_size is not the bytes that follow.", name)
        values = _decoded(binary[offset : offset + size], datatype, name, shape)
        offset += size
    elif "data" in tensor:
        values = _flat(tensor["data"], name)
        _check_length(len(values), name, shape)
    else:
        raise ProtocolError(f"Input {name} has no data.", name)
    if datatype.startswith("INT") and not all(type(v) is int for v in values):
        raise ProtocolError(f"Input {name} is {datatype}: its data must be whole numbers.", name)
    return name, values, offset


def _flat(data: Any, name: str) -> list[Any]:
    """JSON data, flat or nested one level as [rows, 1] writes it."""
    if type(data) is not list:
        raise ProtocolError(f"Input {name}'s data must be a list.", name)
    if not data or type(data[0]) is not list:
        return data
    if all(type(v) is list and len(v) == 1 for v in data):
        return [v[0] for v in data]
    return data


def _check_length(count: int, name: str, shape: list[int]) -> None:
    if count != shape[0]:
        raise ProtocolError(f"Input {name} holds {count} values, but its shape {shape} says {shape[0]}.", name)


def _decoded(raw: bytes, datatype: str, name: str, shape: list[int]) -> list[Any]:
    """Binary data as values, once their count is the shape's: past it, elements are only counted."""
    if datatype == "BYTES":  # each element: its length as 4 bytes little-endian, then the bytes
        values, at, count = [], 0, 0
        while at < len(raw):
            if at + 4 > len(raw) or at + 4 + (length := int.from_bytes(raw[at : at + 4], "little")) > len(raw):
                raise ProtocolError(f"Input {name}'s BYTES data is cut short.", name)
            try:
                if count < shape[0]:
                    values.append(raw[at + 4 : at + 4 + length].decode())
            except UnicodeDecodeError:
                raise ProtocolError(f"Input {name} holds bytes that are not UTF-8.", name) from None
            at, count = at + 4 + length, count + 1
        _check_length(count, name, shape)
        return values
    code = NUMBER_TYPES[datatype]
    if len(raw) % struct.calcsize(code):
        raise ProtocolError(f"Input {name}'s binary data is not a whole number of {datatype} values.", name)
    _check_length(len(raw) // struct.calcsize(code), name, shape)
    return list(struct.unpack(f"<{shape[0]}{code}", raw))


def _outputs(document: dict[str, Any], declared: dict[str, Output]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The outputs asked for, and which of them as binary data. Other request parameters (Triton's priority or
    timeout, MLServer's content_type) do not change the answer."""
    parameters = document.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ProtocolError("parameters must be an object.", "parameters")
    every_binary = parameters.get("binary_data_output", False)
    if type(every_binary) is not bool:
        raise ProtocolError("parameters.binary_data_output must be true or false.", "parameters")
    if "outputs" not in document:  # the task's own outputs, not MLServer's names for them
        own = tuple(name for name in declared if name not in (PREDICT, PREDICT_PROBA))
        return own, frozenset(own) if every_binary else frozenset()
    requested = document["outputs"]
    if not isinstance(requested, list) or not requested:
        raise ProtocolError('outputs must be a list of {"name": ...}.', "outputs")
    names: list[str] = []
    binary = set()
    for output in requested:
        name = output.get("name") if isinstance(output, dict) else None
        wanted = output.get("parameters", {}) if isinstance(output, dict) else None
        if (
            not isinstance(name, str)
            or name not in declared
            or set(output) - {"name", "parameters"}
            or not isinstance(wanted, dict)
            or set(wanted) - {"binary_data"}
            or type(wanted.get("binary_data", False)) is not bool
        ):
            raise ProtocolError(
                f'Each output must be {{"name": one of {", ".join(declared)}}}, with at most '
                '"parameters": {"binary_data": true or false}.',
                "outputs",
            )
        names.append(name)
        if every_binary or wanted.get("binary_data"):
            binary.add(name)
    return tuple(names), frozenset(binary)


def _values(output: str, task: Task, predictions: Predictions) -> Sequence[Any]:
    """An output's value per reading: MLServer's names hold a [value] per reading, and a binary model's class
    probabilities are [1 - p, p]."""
    scores, labels = predictions.scores, predictions.labels
    if output == "score":
        return scores
    if output == "predicted_label":
        assert labels is not None  # the task declares no label where there is none
        return labels
    if output == PREDICT:
        return [[value] for value in (scores if labels is None else labels)]
    return [[1.0 - s, s] for s in scores] if task.kind == BINARY else scores


def encode(model: Model, request: InferRequest, predictions: Predictions) -> tuple[bytes, int | None]:
    """The response body, and the length of its JSON header when binary data follows it. A multi-class score is
    [rows, k], its data flat in row order."""
    name, version = identity(model)
    declared = _outputs_of(model.task)
    tensors, tail = [], []
    for output in request.outputs:
        values = _values(output, model.task, predictions)
        kind = declared[output]
        flat = [v for value in values for v in value] if kind.shape else values
        tensor: dict[str, Any] = {"name": output, "datatype": kind.datatype, "shape": [len(values), *kind.shape]}
        parameters: dict[str, Any] = dict(NUMPY) if output in (PREDICT, PREDICT_PROBA) else {}
        if output in request.binary:
            packed = struct.pack(f"<{len(flat)}{NUMBER_TYPES[kind.datatype]}", *flat)
            parameters["binary_data_size"] = len(packed)
            tail.append(packed)
        else:
            tensor["data"] = flat
        if parameters:
            tensor["parameters"] = parameters
        tensors.append(tensor)
    document: dict[str, Any] = {"model_name": name, "model_version": version, "outputs": tensors}
    if request.id is not None:
        document["id"] = request.id
    header = orjson.dumps(document)
    return header + b"".join(tail), len(header) if tail else None


# Its part of the OpenAPI document, as JSON Schema: the infer request in its plain JSON form (the API also takes
# INT64 or INT32 for whole numbers, data nested as [[v], ...], several readings per tensor, one [rows, fields]
# matrix, and Triton's binary tensor extension), and its answer.


def _input_schema(field: Field) -> dict[str, Any]:
    """A field's input tensor, holding one reading's value."""
    return {
        "type": "object",
        "properties": {
            "name": {"const": field.name},
            "datatype": {"enum": ["BYTES"] if field.categories else ["FP64", "FP32"]},
            "shape": {"type": "array", "prefixItems": [{"const": 1}, {"const": 1}], "minItems": 1, "maxItems": 2},
            "data": {"type": "array", "prefixItems": [value_schema(field)], "minItems": 1, "maxItems": 1},
            "parameters": {
                "type": "object",
                "properties": {"content_type": {"type": "string"}},
                "additionalProperties": False,
            },
        },
        "required": ["name", "datatype", "shape", "data"],
        "additionalProperties": False,
    }


def infer_request_schema(schema: Schema, task: Task) -> dict[str, Any]:
    """An infer request of a tensor per field, asking for the task's outputs or MLServer's names for them."""
    requested = {
        "type": "object",
        "properties": {
            "name": {"enum": list(_outputs_of(task))},
            "parameters": {
                "type": "object",
                "properties": {"binary_data": {"type": "boolean"}},
                "additionalProperties": False,
            },
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "parameters": {
                "type": "object",
                "description": "binary_data_output asks for every output as binary data; others are not read.",
                "properties": {"binary_data_output": {"type": "boolean"}},
            },
            "inputs": {
                "type": "array",
                "description": "One tensor per field, in field order here (any order is taken), a value per reading.",
                "prefixItems": [_input_schema(field) for field in schema.fields],
                "minItems": schema.width,
                "maxItems": schema.width,
            },
            "outputs": {"type": "array", "minItems": 1, "items": requested},
        },
        "required": ["inputs"],
        "additionalProperties": False,
    }


def infer_answer_schema(name: str, version: str, task: Task) -> dict[str, Any]:
    """The answer of the model (name, version): a tensor per output asked for."""
    outputs = _outputs_of(task).values()
    tensor = {
        "type": "object",
        "properties": {
            "name": {"enum": [output.name for output in outputs]},
            "datatype": {"enum": list(dict.fromkeys(output.datatype for output in outputs))},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "data": {"type": "array"},
            "parameters": {"type": "object"},
        },
        "required": ["name", "datatype", "shape"],
    }
    return {
        "type": "object",
        "properties": {
            "model_name": {"const": name},
            "model_version": {"const": version},
            "id": {"type": "string"},
            "outputs": {"type": "array", "items": tensor},
        },
        "required": ["model_name", "model_version", "outputs"],
    }
