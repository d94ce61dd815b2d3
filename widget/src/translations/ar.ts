import type { Translation } from './en'

const plural = new Intl.PluralRules('ar')
const count = (n: number, forms: Record<string, string>) =>
  forms[plural.select(n)] ?? forms.other ?? ''

const ar: Translation = {
  $code: 'ar',
  $dir: 'rtl',
  countryLabel: 'البلد',
  countryButton: (country) => (country ? `البلد: ${country}` : 'اختر البلد'),
  countrySearch: 'ابحث باسم البلد أو رمزه أو مفتاح الاتصال',
  closeList: 'إغلاق',
  countryResults: (n) =>
    count(n, {
      zero: 'لا توجد بلدان',
      one: 'بلد واحد',
      two: 'بلدان',
      few: `${n} بلدان`,
      many: `${n} بلدًا`,
      other: `${n} بلد`,
    }),
  noCountryMatch: 'لا يوجد بلد مطابق.',
  phoneLabel: 'رقم الهاتف',
  phonePlaceholder: 'رقم الجوال',
  consentDefault: 'أوافق على تلقي رمز لمرة واحدة في رسالة نصية. قد تُطبَّق رسوم الرسائل والبيانات.',
  sendCode: 'إرسال الرمز',
  sending: 'جارٍ الإرسال…',
  codeLabel: (n) =>
    count(n, {
      one: 'رمز من رقم واحد',
      two: 'رمز من رقمين',
      few: `رمز من ${n} أرقام`,
      many: `رمز من ${n} رقمًا`,
      other: `رمز من ${n} رقم`,
    }),
  codeSentTo: (to) => `أرسلنا رمزًا إلى ${to}.`,
  verify: 'تحقق',
  verifying: 'جارٍ التحقق…',
  resend: 'إرسال رمز جديد',
  resendIn: (seconds) => `رمز جديد بعد ${seconds} ث`,
  newCodeSent: 'رمز جديد في الطريق إليك.',
  expiresAt: (time) => `تنتهي صلاحية الرمز في ${time}.`,
  attemptsLeft: (n) =>
    count(n, {
      zero: 'لم تتبقَّ أي محاولة.',
      one: 'تبقَّت محاولة واحدة.',
      two: 'تبقَّت محاولتان.',
      few: `تبقَّت ${n} محاولات.`,
      many: `تبقَّت ${n} محاولة.`,
      other: `تبقَّت ${n} محاولة.`,
    }),
  changeNumber: 'تغيير الرقم',
  startAgain: 'البدء من جديد',
  verified: (phone) => `تم التحقق من ${phone}.`,
  required: 'تحقق من رقم هاتفك.',
  retry: 'إعادة المحاولة',
  phoneErrors: {
    empty: 'أدخل رقم هاتفك.',
    extension: 'لا تصل الرسائل النصية إلى رقم التحويلة الداخلية: أدخل الرقم بدونها.',
    tooShort: 'هذا الرقم قصير جدًا.',
    tooLong: 'هذا الرقم طويل جدًا.',
    invalidCountry: 'اختر بلدك أو ابدأ الرقم بـ +.',
    invalid: 'هذا ليس رقم هاتف صالحًا.',
    landline: 'هذا رقم هاتف أرضي. أدخل رقم جوال لتلقي رسالة نصية.',
    notMobile: 'لا يمكن لهذا الرقم تلقي الرسائل النصية. أدخل رقم جوال.',
  },
  consentMissing: 'يُرجى الموافقة على تلقي الرمز.',
  countryNotOffered: (country) =>
    `لا يمكن استخدام أرقام ${country} هنا. يُرجى استخدام رقم من بلد آخر.`,
  wrongCodesLater: 'رموز خاطئة كثيرة لهذا الرقم. حاول لاحقًا أو استخدم رقمًا آخر.',
  errors: {
    unknown: 'حدث خطأ ما. يُرجى المحاولة مرة أخرى.',
    network_error: 'تعذّر الوصول إلى الخادم. تحقق من اتصالك وحاول مرة أخرى.',
    invalid_phone: 'هذا ليس رقم هاتف صالحًا.',
    unsupported_number_type: 'لا يمكن لهذا الرقم تلقي الرسائل النصية. استخدم رقم جوال.',
    country_not_allowed: 'الأرقام من هذا البلد غير مقبولة هنا.',
    consent_required: 'يُرجى الموافقة على تلقي الرمز.',
    incorrect_code: 'هذا الرمز غير صحيح.',
    invalid_code_format: 'الرمز يتكون من أرقام فقط.',
    verification_expired: 'انتهت صلاحية هذا الرمز. ابدأ من جديد للحصول على رمز جديد.',
    max_attempts_reached: 'رموز خاطئة كثيرة. ابدأ من جديد برقمك.',
    max_sends_reached: 'تم إرسال رموز كثيرة. حاول لاحقًا.',
    verification_not_pending: 'تم استخدام هذا الرمز من قبل. ابدأ من جديد.',
    verification_not_found: 'عملية التحقق هذه لم تعد صالحة. ابدأ من جديد.',
    blocked: 'لا يمكننا إرسال رمز إلى هذا الرقم.',
    challenge_required: 'تعذّر علينا تأكيد هذا الطلب. يُرجى المحاولة مرة أخرى.',
    invalid_api_key: 'هذا النموذج غير مُعدّ بشكل صحيح (مفتاح غير صالح).',
    origin_not_allowed: 'هذا النموذج غير مُعدّ بشكل صحيح (الموقع غير مسموح به).',
    wrong_key_type: 'هذا النموذج غير مُعدّ بشكل صحيح (مفتاح خاطئ).',
    service_unavailable: 'الخدمة مشغولة. حاول مرة أخرى بعد قليل.',
    rate_limited: 'محاولات كثيرة. حاول لاحقًا.',
  },
  rateLimited: (when) => `محاولات كثيرة. حاول مرة أخرى ${when}.`,
}

export default ar
