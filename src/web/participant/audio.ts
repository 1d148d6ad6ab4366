// Sound for audio experiments: clips (and the headphone check's tone triplets, served by the hub like any stimulus)
// decoded once and played on the Web Audio clock (sample-accurate start). Onsets are reported on the page's
// performance clock.

let context: AudioContext | undefined;

/** The page's one AudioContext. Browsers start it suspended until a click; `resume` is called from click handlers. */
export function audioContext(): AudioContext {
  context ??= new AudioContext();
  return context;
}

export function resumeAudio(): void {
  void audioContext().resume();
}

const decoded = new Map<string, Promise<AudioBuffer>>();

/** The decoded clip at `url` (the preload step already fetched it, so this reads the HTTP cache). */
export function clip(url: string): Promise<AudioBuffer> {
  let buffer = decoded.get(url);
  if (!buffer) {
    buffer = fetch(url)
      .then((res) => {
        if (!res.ok) throw new Error(`could not load a sound (HTTP ${res.status})`);
        return res.arrayBuffer();
      })
      .then((bytes) => audioContext().decodeAudioData(bytes));
    decoded.set(url, buffer);
  }
  return buffer;
}

export interface Played {
  /** performance.now() time at which the first sample reaches the output, and at which the last one has. */
  onset: number;
  offset: number;
  /** Sample frames played. */
  samples: number;
  sampleRate: number;
}

/** Plays `buffer` 50 ms from now (time to schedule it exactly) and resolves when it has finished. */
export async function play(buffer: AudioBuffer): Promise<Played> {
  const ctx = audioContext();
  if (ctx.state !== "running") await ctx.resume();
  const source = ctx.createBufferSource();
  source.buffer = buffer;
  source.connect(ctx.destination);
  const startAt = ctx.currentTime + 0.05;
  const ended = new Promise<void>((resolve) => (source.onended = () => resolve()));
  source.start(startAt);
  // The context's clock mapped to the page's: getOutputTimestamp pairs a context time with the performance time at
  // which that sample is heard (output latency included).
  const toPage = (contextTime: number) => {
    const stamp = ctx.getOutputTimestamp();
    return (stamp.performanceTime ?? performance.now()) + (contextTime - (stamp.contextTime ?? ctx.currentTime)) * 1000;
  };
  const onset = toPage(startAt);
  await ended;
  // Mapped again at the end: if the audio clock ran at another rate than the page's, the duration shows it.
  const offset = toPage(startAt + buffer.duration);
  return { onset, offset, samples: buffer.length, sampleRate: buffer.sampleRate };
}

/**
 * The calibration tone played while the participant sets the volume before the headphone check: a 1-s 200 Hz tone at
 * the check's standard level, made here with Web Audio (the check's own trials come from the hub, which alone knows
 * which of their tones is the quiet one).
 */
export function calibrationTone(): AudioBuffer {
  const ctx = audioContext();
  const rate = ctx.sampleRate;
  const samples = Math.round(rate);
  const ramp = Math.round(rate * 0.1);
  const buffer = ctx.createBuffer(2, samples, rate);
  for (let channel = 0; channel < 2; channel++) {
    const data = buffer.getChannelData(channel);
    for (let i = 0; i < samples; i++) {
      // Raised-cosine on/off ramps, as in the check: no clicks.
      const edge = Math.min(i, samples - 1 - i);
      const envelope = edge < ramp ? 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp) : 1;
      data[i] = 0.5 * envelope * Math.sin((2 * Math.PI * 200 * i) / rate);
    }
  }
  return buffer;
}
