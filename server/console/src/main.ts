/**
 * @module The operator console's entry: one element, <tg-console>, renders everything.
 */
import './global.css'
import './app'
