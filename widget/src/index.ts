/**
 * The widget's entry: defines <textgate-verify>. Loaded with one script tag:
 * `<script type="module" src="https://VERIFY_HOST/widget.js"></script>`.
 * @module
 */
import { TextgateCountryPicker } from './country-picker/textgate-country-picker'
import { TextgateVerify } from './textgate-verify'

export type {
  TextgateErrorDetail,
  TextgateStep,
  TextgateStepDetail,
  TextgateVerifiedDetail,
} from './events'
export { TextgateVerify }

if (!customElements.get('textgate-country-picker')) {
  customElements.define('textgate-country-picker', TextgateCountryPicker)
}
if (!customElements.get('textgate-verify')) {
  customElements.define('textgate-verify', TextgateVerify)
}
