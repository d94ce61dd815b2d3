/**
 * The widget's entry: defines <textgate-verify>. Loaded with one script tag:
 * `<script type="module" src="https://VERIFY_HOST/widget.js"></script>`.
 * @module
 */
import { TextgateVerify } from './textgate-verify'

export type {
  TextgateErrorDetail,
  TextgateStep,
  TextgateStepDetail,
  TextgateVerifiedDetail,
} from './textgate-verify'
export { TextgateVerify }

if (!customElements.get('textgate-verify')) {
  customElements.define('textgate-verify', TextgateVerify)
}
