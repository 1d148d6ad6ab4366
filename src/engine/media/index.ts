// The media codec: stimulus files (PNG, JPEG, WAV) decoded into model inputs, metamers encoded as the files
// observers see (8-bit PNG, float WAV) and read back, and the float32 byte format of tensor blobs. Pure code: bytes
// in, bytes or tensors out; the service decides where it runs (audio conversion goes to a worker thread).
export { checkStimulusFile, contentTypeOf, sniffKind, type StimulusKind } from "./files.js";
export { checkSampleRate, checkTensorSize, type ImageResize, type StimulusLimits, type TensorSpec } from "./limits.js";
export { imageMetadata, imageToTensor, renderImage } from "./image.js";
export { audioToTensor, decodeWav, readWavInfo, renderAudio, resample, type DecodedAudio, type WavInfo } from "./audio.js";
export { decodeRendering, type Rendering } from "./rendering.js";
export { float32Bytes, float32FromBytes } from "./tensor-bytes.js";
