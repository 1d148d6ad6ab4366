// Seeded noise for the visual masks (the project uses seeded randomness only: a session replays identically).

/** mulberry32: a small, fast 32-bit generator; plenty for mask pixels. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A white-noise mask at the stimulus's own resolution (so its grain matches the image's pixels), drawn on a canvas
 * that the page scales exactly like the image. Grey for grey stimuli, colour for colour ones.
 */
export function noiseMask(width: number, height: number, seed: number, colour: boolean): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, width);
  canvas.height = Math.max(1, height);
  const ctx = canvas.getContext("2d")!;
  const image = ctx.createImageData(canvas.width, canvas.height);
  const next = seededRandom(seed);
  for (let i = 0; i < image.data.length; i += 4) {
    const g = Math.floor(next() * 256);
    image.data[i] = g;
    image.data[i + 1] = colour ? Math.floor(next() * 256) : g;
    image.data[i + 2] = colour ? Math.floor(next() * 256) : g;
    image.data[i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** Whether an image has any colour (a grey image gets a grey mask); reads at most 64x64 pixels. */
export function isColour(img: HTMLImageElement): boolean {
  const w = Math.min(64, img.naturalWidth);
  const h = Math.min(64, img.naturalHeight);
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  ctx.drawImage(img, 0, 0, w, h);
  const { data } = ctx.getImageData(0, 0, w, h);
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return true;
  }
  return false;
}
