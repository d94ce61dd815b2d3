/**
 * Default code messages in every language the widget speaks. The code comes first, so it shows
 * in a lock-screen preview; `{brand}` is the project's brand and `{minutes}` the validity.
 * @module
 */
export const DEFAULT_TEMPLATES: Record<string, string> = {
  en: '{code} is your {brand} verification code. It expires in {minutes} minutes. Never share it.',
  'zh-CN': '{code} 是您的{brand}验证码，{minutes}分钟内有效。请勿告诉他人。',
  'zh-TW': '{code} 是您的{brand}驗證碼，{minutes}分鐘內有效。請勿告訴他人。',
  ru: '{code} — ваш код подтверждения {brand}. Действует {minutes} мин. Никому его не сообщайте.',
  hi: '{code} आपका {brand} सत्यापन कोड है। यह {minutes} मिनट में समाप्त होगा। इसे किसी से साझा न करें।',
  es: '{code} es tu código de verificación de {brand}. Caduca en {minutes} minutos. No lo compartas.',
  'pt-BR':
    '{code} é o seu código de verificação da {brand}. Expira em {minutes} minutos. Não o compartilhe.',
  fr: '{code} est votre code de vérification {brand}. Il expire dans {minutes} minutes. Ne le partagez pas.',
  de: '{code} ist Ihr Bestätigungscode für {brand}. Er läuft in {minutes} Minuten ab. Geben Sie ihn nicht weiter.',
  ar: '{code} هو رمز التحقق الخاص بك من {brand}. تنتهي صلاحيته خلال {minutes} دقائق. لا تشاركه مع أحد.',
  ja: '{code} は{brand}の確認コードです。有効期限は{minutes}分です。他の人に教えないでください。',
  ko: '{code}은(는) {brand} 인증 코드입니다. {minutes}분 후 만료됩니다. 다른 사람과 공유하지 마세요.',
  id: '{code} adalah kode verifikasi {brand} Anda. Berlaku {minutes} menit. Jangan bagikan kepada siapa pun.',
  tr: '{code}, {brand} doğrulama kodunuzdur. {minutes} dakika içinde geçerliliğini yitirir. Kimseyle paylaşmayın.',
  vi: '{code} là mã xác minh {brand} của bạn. Mã hết hạn sau {minutes} phút. Không chia sẻ mã này.',
  it: '{code} è il tuo codice di verifica {brand}. Scade tra {minutes} minuti. Non condividerlo.',
}
