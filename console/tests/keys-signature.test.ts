// The signature pad (components/SignaturePad.vue) in jsdom, with a stand-in 2D context: jsdom
// draws nothing, so the strokes are the library's own and the image is a fixed PNG.
import { mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { nextTick } from "vue";
import SignaturePad from "@/components/SignaturePad.vue";
import { i18n } from "@/i18n";

const PNG = "data:image/png;base64,iVBORw==";

beforeEach(() => {
  const store: Record<string | symbol, unknown> = {};
  const context = new Proxy(store, {
    get: (target, key) => (key in target ? target[key] : () => undefined),
    set: (target, key, value) => {
      target[key] = value;
      return true;
    },
  });
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(context as unknown as CanvasRenderingContext2D);
  vi.spyOn(HTMLCanvasElement.prototype, "toDataURL").mockReturnValue(PNG);
  vi.stubGlobal(
    "ResizeObserver",
    class {
      observe() {}
      unobserve() {}
      disconnect() {}
    },
  );
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

function stroke(canvas: HTMLCanvasElement) {
  const at = (type: string, x: number, y: number, buttons: number) =>
    new PointerEvent(type, { clientX: x, clientY: y, buttons, button: 0, pointerId: 1, bubbles: true, isPrimary: true });
  canvas.dispatchEvent(at("pointerdown", 10, 10, 1));
  canvas.dispatchEvent(at("pointermove", 40, 30, 1));
  canvas.dispatchEvent(at("pointermove", 80, 20, 1));
  canvas.dispatchEvent(at("pointerup", 80, 20, 0));
  canvas.ownerDocument.dispatchEvent(at("pointerup", 80, 20, 0));
}

describe("the signature pad", () => {
  it("gives the drawn signature as PNG bytes, and clears from the keyboard", async () => {
    const pad = mount(SignaturePad, { props: { label: "客户签名区", modelValue: null }, global: { plugins: [i18n] } });
    const canvas = pad.get("canvas").element as HTMLCanvasElement;
    expect(canvas.getAttribute("tabindex")).toBe("0");
    expect(canvas.getAttribute("aria-label")).toContain("客户签名区");
    stroke(canvas);
    await nextTick();
    const given = pad.emitted("update:modelValue")?.at(-1)?.[0];
    expect(given).toBeInstanceOf(Uint8Array);
    expect(Array.from(given as Uint8Array)).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(canvas.getAttribute("aria-label")).toContain("已签名");

    await pad.get("canvas").trigger("keydown", { key: "Delete" });
    expect(pad.emitted("update:modelValue")?.at(-1)?.[0]).toBeNull();
    expect(pad.emitted("cleared")).toHaveLength(1);
  });

  it("is cleared with the form it belongs to", async () => {
    const pad = mount(SignaturePad, { props: { modelValue: null }, global: { plugins: [i18n] } });
    const canvas = pad.get("canvas").element as HTMLCanvasElement;
    stroke(canvas);
    await nextTick();
    await pad.setProps({ modelValue: pad.emitted("update:modelValue")?.at(-1)?.[0] as Uint8Array });
    expect(canvas.getAttribute("aria-label")).toContain("已签名");
    await pad.setProps({ modelValue: null });
    expect(canvas.getAttribute("aria-label")).toContain("未签名");
  });

  it("gives a data URL when asked", async () => {
    const pad = mount(SignaturePad, { props: { format: "dataUrl", modelValue: null }, global: { plugins: [i18n] } });
    stroke(pad.get("canvas").element);
    await nextTick();
    expect(pad.emitted("update:modelValue")?.at(-1)?.[0]).toBe(PNG);
  });
});
