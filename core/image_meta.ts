// How an input image was fitted to the network input: the record image I/O writes and the detectors read
// to map boxes back to the original image.

/** Where an input image came from and how it was fitted to the network input. */
export interface ImageMeta {
  /** Width and height of the original image after EXIF auto-orientation, in pixels. */
  readonly width: number;
  readonly height: number;
  /** Network input size the image was fitted into. */
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** input pixel = original pixel * scale + pad, per axis (scales are the resized/original size ratios actually used). */
  readonly scaleX: number;
  readonly scaleY: number;
  readonly padLeft: number;
  readonly padTop: number;
}
