// Submitting a form: the request id that makes a retry safe (kept until the call succeeds),
// the field violations shown next to their fields, the reason of a refusal, and nothing the
// user typed thrown away on an error.
import { ElMessage } from "element-plus";
import { reactive, ref } from "vue";
import { explain, fieldWords } from "@/api/explain";
import { type Problem, problemOf } from "@/api/errors";

export function newRequestId(): string {
  return crypto.randomUUID();
}

export function useSubmit() {
  const busy = ref(false);
  /** Field path (as the contract names it) → what is wrong, for `<el-form-item :error>`. */
  const errors = reactive<Record<string, string>>({});
  const problem = ref<Problem | null>(null);
  const requestId = ref(newRequestId());

  function clear() {
    for (const key of Object.keys(errors)) delete errors[key];
    problem.value = null;
  }

  /** Runs `action` with the form's request id; on success a new id is made for the next. */
  async function run<T>(action: (requestId: string) => Promise<T>): Promise<T | undefined> {
    if (busy.value) return undefined;
    busy.value = true;
    clear();
    try {
      const answer = await action(requestId.value);
      requestId.value = newRequestId();
      return answer;
    } catch (error) {
      const p = problemOf(error);
      problem.value = p;
      for (const [field, description] of Object.entries(p.fields)) {
        errors[field] = fieldWords(description);
      }
      ElMessage({ type: "error", message: explain(p), showClose: true, duration: 6000 });
      return undefined;
    } finally {
      busy.value = false;
    }
  }

  return { busy, errors, problem, requestId, run, clear };
}

/** Reads a list or record; a refusal is shown and gives `undefined`. */
export async function load<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    const p = problemOf(error);
    ElMessage({ type: "error", message: explain(p), showClose: true, duration: 6000 });
    return undefined;
  }
}
