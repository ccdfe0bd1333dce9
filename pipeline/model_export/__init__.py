"""A trained session's model as an ONNX graph, for other runtimes: plain ONNX (encoder plus
one decoder) and DeepFaceLive's `.dfm`."""
