// Parses a Hub model reference: hf:OWNER/REPO[@REVISION][:QUANT].
import { errors } from '../../common/errors.ts';

export interface HubSpec {
  /** 'OWNER/REPO' */
  repo: string;
  /** Branch, tag or commit; 'main' when not given. */
  revision: string;
  /** GGUF quantization label, upper-cased (Q4_K_M); null = safetensors, or Q4_K_M for GGUF-only repos. */
  quant: string | null;
}

export const HUB_PREFIX = 'hf:';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isHubSpec(model: string | undefined): model is string {
  return !!model && model.startsWith(HUB_PREFIX);
}

/**
 * Example: parseHubSpec('hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF@v1.0:q4_k_m')
 * → { repo: 'bartowski/Qwen2.5-0.5B-Instruct-GGUF', revision: 'v1.0', quant: 'Q4_K_M' }
 */
export function parseHubSpec(spec: string): HubSpec {
  const bad = (why: string) => errors.invalidParam(`--model ${spec}: ${why} (expected hf:OWNER/REPO[@REVISION][:QUANT], e.g. hf:Qwen/Qwen2.5-0.5B-Instruct or hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M)`, 'model');
  if (!spec.startsWith(HUB_PREFIX)) throw bad('not a Hub reference');
  let rest = spec.slice(HUB_PREFIX.length);
  let quant: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    quant = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[A-Za-z0-9_]+$/.test(quant)) throw bad(`quantization label "${quant}" is not like Q4_K_M`);
    quant = quant.toUpperCase();
  }
  let revision = 'main';
  const at = rest.indexOf('@');
  if (at >= 0) {
    revision = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!revision || /\s|\.\./.test(revision)) throw bad(`revision "${revision}" is not valid`);
  }
  const parts = rest.split('/');
  if (parts.length !== 2 || !parts.every((p) => NAME.test(p))) throw bad(`"${rest}" is not OWNER/REPO`);
  return { repo: rest, revision, quant };
}
