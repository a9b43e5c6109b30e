"""QGIS default styles stored in the GeoPackage's ``layer_styles`` table, so a layer
opens in QGIS already symbolised (QGIS reads this table; GDAL ignores it)."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

# layer -> (attribute, geometry symbol type, [(value, label, RGB)])
CATEGORIES: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "hazard_areas": ("classification", "fill", [
        ("CHA", "Confirmed hazardous area (CHA)", "215,25,28"),
        ("SHA", "Suspected hazardous area (SHA)", "253,174,97"),
    ]),
    "activities": ("kind", "fill", [
        ("nts", "Non-technical survey", "171,217,233"),
        ("ts", "Technical survey", "44,123,182"),
        ("clearance", "Clearance", "26,150,65"),
    ]),
    "findings": ("state", "marker", [
        ("functional", "Functional", "215,25,28"),
        ("inert", "Inert (still holds explosive)", "253,174,97"),
        ("self_destroyed", "Self-destroyed", "120,120,120"),
        ("unknown", "Unknown", "0,0,0"),
    ]),
    "records": ("source", "fill", [
        ("minefield_record", "Minefield record", "128,0,38"),
        ("nts", "Non-technical survey", "227,26,28"),
        ("incident", "Incident", "252,78,42"),
        ("other", "Other", "150,150,150"),
    ]),
    "incidents": ("id", "marker", []),
    "places": ("id", "marker", []),
    "risk_education": ("id", "marker", []),
}


def _symbol(name: str, kind: str, rgb: str) -> str:
    if kind == "fill":
        layer = (f'<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
                 f'<Option type="QString" name="color" value="{rgb},150"/>'
                 f'<Option type="QString" name="outline_color" value="{rgb},255"/>'
                 '<Option type="QString" name="outline_width" value="0.4"/>'
                 '<Option type="QString" name="style" value="solid"/></Option></layer>')
    else:
        layer = (f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0"><Option type="Map">'
                 f'<Option type="QString" name="color" value="{rgb},255"/>'
                 '<Option type="QString" name="name" value="circle"/>'
                 '<Option type="QString" name="size" value="2.4"/>'
                 '<Option type="QString" name="outline_color" value="255,255,255,255"/>'
                 '</Option></layer>')
    return f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1">{layer}</symbol>'


_YL_OR_RD = ("255,255,178", "254,204,92", "253,141,60", "240,59,32", "189,0,38")
# computed layers, graduated: residual hazard by the median expected functioning items,
# exposure by its index (people, distance-weighted), priorities by their score
GRADUATED: dict[str, tuple[str, list[tuple[float, float, str]]]] = {
    "residual_hazard": ("expected_q50", [(0, 0.5, "below 0.5"), (0.5, 5, "0.5 – 5"),
                                         (5, 50, "5 – 50"), (50, 500, "50 – 500"),
                                         (500, 1e12, "500 and more")]),
    "exposure": ("exposure_index", [(0, 10, "below 10"), (10, 100, "10 – 100"),
                                    (100, 1000, "100 – 1,000"), (1000, 10000, "1,000 – 10,000"),
                                    (10000, 1e12, "10,000 and more")]),
    "priorities": ("score", [(0, 0.2, "score below 0.2"), (0.2, 0.4, "0.2 – 0.4"),
                             (0.4, 0.6, "0.4 – 0.6"), (0.6, 0.8, "0.6 – 0.8"),
                             (0.8, 1.01, "0.8 – 1")]),
}


def _graduated(layer: str) -> str:
    attribute, ranges = GRADUATED[layer]
    spans = "".join(f'<range symbol="{i}" lower="{lo}" upper="{hi}" label={quoteattr(lab)} '
                    'render="true"/>' for i, (lo, hi, lab) in enumerate(ranges))
    syms = "".join(_symbol(str(i), "fill", rgb) for i, rgb in enumerate(_YL_OR_RD))
    return (f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(attribute)} '
            f'graduatedMethod="GraduatedColor"><ranges>{spans}</ranges><symbols>{syms}'
            "</symbols></renderer-v2>")


def qml(layer: str) -> str:
    """The QGIS style document for a layer."""
    head = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
    if layer in GRADUATED:
        return (f'{head}<qgis version="3.28" styleCategories="Symbology">{_graduated(layer)}'
                "</qgis>\n")
    attribute, kind, categories = CATEGORIES[layer]
    if not categories:
        body = (f'<renderer-v2 type="singleSymbol"><symbols>{_symbol("0", kind, "31,120,180")}'
                "</symbols></renderer-v2>")
    else:
        cats = "".join(f'<category symbol="{i}" value={quoteattr(v)} label={quoteattr(lab)} '
                       'render="true"/>' for i, (v, lab, _) in enumerate(categories))
        syms = "".join(_symbol(str(i), kind, rgb) for i, (_, _, rgb) in enumerate(categories))
        body = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)}>'
                f"<categories>{cats}</categories><symbols>{syms}</symbols></renderer-v2>")
    return f'{head}<qgis version="3.28" styleCategories="Symbology">{body}</qgis>\n'
