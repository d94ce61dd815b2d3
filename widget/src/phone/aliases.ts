/**
 * What shoppers type for a country besides its name: ISO 3166 alpha-3 codes ("deu") and common
 * names and abbreviations ("uk", "usa", "uae", "holland"). A lazy chunk, loaded when the picker
 * first opens. Alpha-3 codes from Debian's iso-codes (ISO 3166-1).
 * @module
 */
/**
 * The alpha-3 code of every region with a calling code, in alphabetical order of alpha-2: one lowercase letter when it
 * is the alpha-2 code plus that letter (DE → DEU), else the three letters; `-` when it has none.
 */
const ALPHA3 =
  '-ANDAREgATGabARMAGOgmAUTsABWALAeBIHBRBBGDlarrBDIBENmuBRNlBESaBHSnaBLRBLZnkCODCAFCOGevCOKCHLrCHNlibCPVCUWrpeuiDNKamauESTyESHiphniFLKFSMFROabrGRDoGUFyabGRLbGINGLPGNQcmmGNBGUYgdvinnIRLISRndtIRQnlayJAMrnnzmrCOMaPRKKORtCYMKAZonaeaLBRouxaLBYroaMNEMAFMDGldirgMACMNPMTQtrMLTsMDViMEXsMOZmlrkacdrluNIUlnnrPYFPNGlPAKPOLSPMiePRTPLWPRYtuuSRBsauSLBSYCnSWEpnSVNmSVKerSENmSURdpSLVmrSWZ-aTCDoaklsTKMTUNnTURoTUVnaUKRaaURYbttnbrmtWLFm-mMYTfbe'

/** Common names (lowercase, no accents or dots, `_` for spaces) → alpha-2. */
const NAMES =
  'uk=GB britain=GB great_britain=GB england=GB scotland=GB wales=GB usa=US america=US uae=AE emirates=AE holland=NL korea=KR dprk=KP czech_republic=CZ ivory_coast=CI cote_divoire=CI burma=MM swaziland=SZ turkey=TR persia=IR ksa=SA drc=CD dr_congo=CD congo_kinshasa=CD cape_verde=CV east_timor=TL viet_nam=VN macau=MO falklands=FK deutschland=DE espana=ES nippon=JP bharat=IN prc=CN'

/**
 * A lookup of alpha-3 codes and common names: `regions` is every region with a calling code, in
 * alphabetical order (the order of ALPHA3).
 */
export function aliases(regions: readonly string[]): (query: string) => string | undefined {
  const map = new Map<string, string>()
  let at = 0
  for (const code of regions) {
    const letter = ALPHA3[at]!
    if (letter === '-') at += 1
    else if (letter >= 'a') {
      map.set(code + letter.toUpperCase(), code)
      at += 1
    } else {
      map.set(ALPHA3.slice(at, at + 3), code)
      at += 3
    }
  }
  for (const entry of NAMES.split(' ')) {
    const [name, code] = entry.split('=')
    map.set(name!.replace(/_/g, ' '), code!)
  }
  // `query` is folded: lowercase, without accents or dots.
  return (query) => {
    const q = query.replace(/['’]/g, '')
    return map.get(q) ?? map.get(q.toUpperCase())
  }
}
