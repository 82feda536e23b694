"""The default detector's signal patterns, one list per grooming category.

Patterns are written against ``normalize``d text (lower case, evasions folded)
and in chat spelling: ``{U}`` stands for "you/u/ya", ``{R}`` for "are/r", and
so on (see ``MACROS``). Each pattern has a weight in (0, 1]: how strongly one
occurrence indicates the tactic on its own. Weights are deliberately modest
for tactics that also appear in ordinary chat (compliments, "add me on snap")
and high for those that rarely do ("don't tell your mum", "delete the chat").

Dampeners name contexts that make a hit harmless (a secret about a surprise
party, a photo of a receipt): a dampened hit keeps a fraction of its weight.

``CHILD_CONTEXT`` patterns are not tactics: they are evidence that one
participant is a child (a stated age under 16, school year, parents' rules) or
that the other knows it ("age is just a number"). Grooming is contact with a
child, so the conversation scorer multiplies risky tactics by this context:
that is what separates grooming from consenting adult chat that uses the same
words.
"""

from __future__ import annotations

from dataclasses import dataclass

from safeguard.text.categories import Category

MACROS: dict[str, str] = {
    "U": r"(?:you|u|ya|yu|yo?u|yuo|youu|uu)",
    "R": r"(?:are|r|re|ar)",
    "UR": r"(?:your|ur|yur|yor|youre|you're|you are|u r|ure|u are|yr)",
    "UREF": r"(?:you|u|ya|yourself|urself|ur self|your self)",
    "IM": r"(?:i'm|im|i am|i m|iam)",
    "ILL": r"(?:i'll|ill|i will|i wil|i can|i could|i'd|id|lemme|let me|gonna|i'm gonna|im gonna|i wanna|i want to|i want ?2)",
    "DONT": r"(?:don't|dont|do not|dnt|don t|never|doesnt|doesn't)",
    "PARENT": r"(?:mom|mum|mummy|mommy|mother|mam|ma|dad|daddy|father|papa|parents?|folks|step ?dad|step ?mom|step ?mum|grand(?:ma|pa|mother|father|parents?)|nan|gran|aunt|auntie|uncle|carer|guardian|foster)",
    "FAMILY": r"(?:{PARENT}|sister|brother|sis|bro|family|teachers?|friends?|anyone|anybody|any1|no ?one|noone|nobody|ppl|people)",
    "PIC": r"(?:pic|pics|pix|picture|pictures|photo|photos|foto|fotos|selfie|selfies|snap|snaps|vid|vids|video|videos|image|images|nude|nudes|pik|piks|picc|pict)",
    "PLATFORM": r"(?:snap ?chat|snap|sc|kik|kick|discord|whats ?app|wa|insta(?:gram)?|ig|telegram|tele ?gram|tg|skype|wickr|signal|viber|line app|facebook|fb|messenger|yahoo|ym|yim|msn|aim|icq|omegle|tik ?tok|tt|email|e-mail|gmail|hangouts?|google chat|zoom|face ?time|threema|session app|element|wechat|reddit|twitter|x app|private app|another app|other app|different app|my number|ur number|your number|text|txt|phone|cell|mobile)",
    "CAM": r"(?:cam|webcam|web cam|camera|face ?time|video ?call|video ?chat|vc)",
    "CLOTHES": r"(?:bra|underwear|undies|panties|bikini|swimsuit|swim suit|pjs|pajamas|pyjamas|nightie|nightgown|towel|shorts|skirt|school uniform|uniform|bathing suit|lingerie|thong|boxers|briefs)",
    "YOUNG_AGE": r"(?:[89]|1[0-5]|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen)",
    "IMGS": r"(?:(?:ur|your|the|those|these|that|this|all (?:ur|your|the)|all) )?(?:pics?|pix|pictures?|photos?|fotos?|nudes?|nudez|noods|vids?|videos?|recording|screenshots?|images?|snaps?)",
    "AUDIENCE": r"(?:every(?:one|1|body)|all (?:ur|your|of ur|of your) (?:followers|friends|contacts|family)|(?:ur|your) (?:followers|friends|family|contacts|mum|mom|mam|dad|parents|school|teachers?|class|classmates|brother|sister|bf|gf|boyfriend|girlfriend|coach|church|team)|(?:the|ur|your) (?:whole )?(?:school|class|internet|web|group ?chat)|online|the internet|insta(?:gram)?|tiktok|facebook|fb|snap(?:chat)?|twitter|reddit|discord|ur story|your story)",
    "DIST": r"(?:send|sending|sent|post|posting|share|sharing|leak|leaking|upload|uploading|forward|forwarding|expose|exposing|show|showing|spread|spreading|put|putting|dm|dming|release|releasing)",
}


def expand(pattern: str) -> str:
    """Expand ``{MACRO}`` references (macros may use other macros)."""
    for _ in range(4):
        for name, body in MACROS.items():
            pattern = pattern.replace("{" + name + "}", body)
    return pattern


@dataclass(frozen=True, slots=True)
class Pattern:
    """One signal pattern: a regex (with macros), its weight and a short name."""

    regex: str
    weight: float
    name: str
    stage: str | None = None  # overrides the category's default stage
    cue: str | None = None  # what the scorer reads this as (``scoring.CUE_WEIGHT``)


P = Pattern

PATTERNS: dict[str, list[Pattern]] = {
    Category.AGE_LOCATION_PROBE: [
        P(r"\bhow old {R} {U}\b|\bhow old {R}n'?t {U}\b|\bhow old\s*\?|\bhow old (?:is|r) (?:ur|your|u)\b|\bhow old (?:do|did) {U}\b", 0.55, "asks age", cue="opener"),
        P(r"\b(?:what'?s|wats|whats|what is|wat is|what) {UR} age\b|\b{UR} age\s*\?|\bage\s*\?|\bage pls\b|\bhow young\b", 0.5, "asks age", cue="opener"),
        P(r"\ba ?/? ?s ?/? ?l\b\s*\??|\basl\b", 0.3, "asks age/sex/location", cue="opener"),
        P(r"\bwhat (?:grade|year|form|class) {R} {U}\b|\b{R} {U} in (?:middle|high|junior|primary|elementary|secondary) ?school\b|\bwhat (?:grade|year) (?:r|are|is|in)\b|\bdo {U} (?:still )?go to (?:school|skool)\b|\b{R} {U} (?:still )?in (?:school|skool)\b|\bwhen do {U} (?:get out of|finish) (?:school|skool)\b|\bhow was (?:school|skool)\b", 0.55, "asks school year", cue="school_probe"),
        P(r"\bwhere (?:do|d) {U} live\b|\bwhere {R} {U} (?:from|located|at)\b|\bwhere {U} (?:from|live|at)\b|\bwhat (?:city|town|state|area|part of town|country|county|street)\b|\bwhere abouts\b|\bwhereabouts\b|\b{U} live (?:near|close|far|around)\b|\bhow far (?:away )?{R} {U}\b|\bwhats ur location\b", 0.35, "asks location", cue="location"),
        P(r"\b{R} {U} (?:home )?alone\b|\b{U} (?:home )?alone\s*\?|\bwho(?:'?s| is| else is)? (?:else )?(?:home|in the house|there with {U}|with {U})\b\s*\??|\b(?:is|r|are) (?:any(?:one|1|body)|some(?:one|1)) (?:else )?(?:home|there|around|with {U})\b|\bany(?:one|1|body) (?:else )?(?:home|there|around)\s*\?|\b{U} by {UREF}\b", 0.7, "asks if alone", "risk_assessment", cue="risk_check"),
        P(r"\b(?:{R}|is|iz) {UR} {PARENT} (?:home|there|around|awake|asleep|in bed|out|gone|at work|back)\b|\bwhen (?:do|does|will) {UR} {PARENT} (?:get home|get back|come home|leave|go to (?:bed|sleep|work)|go out)\b|\bwhere (?:is|r|are) {UR} {PARENT}\b", 0.75, "asks where parents are", "risk_assessment", cue="risk_check"),
        P(r"\b{R} {U} in {UR} (?:room|bedroom|bed)\b|\bwhat room {R} {U}\b|\bwhere in the house\b|\b{UR} door (?:locked|shut|closed)\b|\bcan any(?:one|1) (?:see|hear) {U}\b|\bdoes {UR} {PARENT} (?:check|read|look at|go through) {UR} (?:phone|messages|computer|laptop|chats?)\b|\b(?:phone|computer|laptop) in {UR} room\b", 0.75, "asks about privacy at home", "risk_assessment", cue="risk_check"),
        P(r"\bwhen(?:'s| is) {UR} (?:birthday|bday|b-day)\b|\bwhat year (?:were|was) {U} born\b|\b{R} {U} (?:a )?(?:boy|girl|guy) or (?:a )?(?:boy|girl|guy)\b|\bm or f\b|\bf or m\b", 0.35, "asks birthday or sex", cue="opener"),
        P(r"\b{R} {U} (?:like |about |around |maybe |even |only |over |under )?{YOUNG_AGE}\b|\b{U} (?:look|sound|seem) (?:young|{YOUNG_AGE})\b|\bwhat age {R} {U}\b|\bhow old {U}\b|\b{U} sound young\b", 0.55, "asks age", cue="opener"),
        P(r"\b{R} {U} in (?:year|yr|grade) \d+\b|\b{R} {U} (?:still )?(?:at|in) (?:school|skool|high school|middle school)\b|\b{U} (?:still )?(?:at|in) (?:school|skool|high school|middle school)\s*\?|\b{UR} in (?:high|middle|secondary|primary) school\b|\bhow was (?:school|skool|class)\b|\bwhat(?:'s| is) {UR} (?:fav|favou?rite) (?:subject|class|teacher)\b", 0.45, "asks about school", cue="school_probe"),
        P(r"\b(?:do|does|will|would) {UR} (?:{PARENT}) (?:let|allow) {U}\b|\b{R} {UR} (?:{PARENT}) strict\b|\bis {UR} (?:{PARENT}) strict\b|\bwhat time do {U} (?:go to bed|go to sleep|have to be home|get home)\b|\bdo {U} have {UR} own (?:room|phone|laptop|ipad|tablet)\b|\bdo {U} have a lock on {UR} door\b|\bdoes any(?:one|1) (?:else )?(?:use|check|see|read) {UR} (?:phone|ipad|tablet|laptop|computer|screen|messages)\b|\bcan any(?:one|1) see {UR} (?:screen|phone|messages|chats?)\b|\b(?:do|does) {UR} (?:{PARENT}) (?:know|have) {UR} (?:passcode|password|pin)\b", 0.65, "asks about supervision", "risk_assessment", cue="risk_check"),
        P(r"\b{U} (?:from|frm|live in|near) [a-z]+\s*\?|\bwhich (?:area|part|town|city|bit) (?:do {U} live|{R} {U})\b|\bhow far is {UR} (?:school|house|home)\b|\b(?:send|share) (?:me )?{UR} (?:location|live location|loc)\b|\b{UR} location\b", 0.45, "asks location", cue="location"),
    P(r"\b{UR} (?:so |too |very |really )?(?:young|underage|under ?age|a kid|a child|just a kid|jailbait|a minor|minor)\b|\b{UR} (?:only )?{YOUNG_AGE}\b|\bsince {UR} (?:only )?{YOUNG_AGE}\b|\b(?:age|ages) (?:is|r|are|iz) (?:just|only) (?:a )?(?:number|numbers)\b|\b(?:sex offender|jailbait|jail bait)\b|\bi(?:'m| am)? (?:a lot |much |way )?older (?:than {U})?\b|\b(?:do|would|does) {U} (?:mind|care) (?:that )?(?:i'?m|im|i am) (?:older|\d\d)\b|\bage difference\b|\bage gap\b", 0.6, "age gap acknowledged", "risk_assessment", cue="risk_awareness"),
    P(r"\b(?:illegal|jail|prison|arrested|cops|police|predator|trouble with the law|undercover|fbi)\b", 0.35, "talks of the law", "risk_assessment", cue="risk_awareness"),
    P(r"\b{R} {U} (?:a )?(?:cop|police|fed|agent|undercover|fbi)\b|\b{U} (?:r|are|aint|arent|are not|not) (?:a )?(?:cop|police|fed)\b|\bthis (?:isnt|is not|aint|a) (?:a )?(?:set ?up|setup|sting|trap)\b|\b{U} (?:wont|won't|will not|wouldnt|wouldn't) (?:get|turn) me in\b|\bi (?:could|can|would|will|might) get (?:in|into) (?:so much |a lot of |big |real )?trouble\b|\b(?:get|got) (?:me )?(?:in|into) trouble for (?:this|talking)\b", 0.7, "worries about getting caught", "risk_assessment", cue="risk_awareness"),
    P(r"\b(?:do|does|would|will) {U} (?:mind|care) (?:about )?(?:my age|how old i am|that i'?m|that im|the age)\b|\bis (?:my age|that|the age difference|the age gap|that age) (?:ok|okay|a problem|an issue|weird|too old)\b|\b(?:im|i'?m|i am) (?:too )?old (?:for|enough to be) {U}\b|\btoo old for {U}\b|\bhow old {R} {U} (?:really|again|actually)\b|\b{U} (?:really|actually) {YOUNG_AGE}\b|\bolder than {U} think\b|\bi(?:'m| am)? (?:a lot|much|way|bit|little) older\b", 0.7, "asks if the age gap matters", "risk_assessment", cue="risk_awareness"),
    ],
    Category.PERSONAL_INFO: [
        P(r"\b(?:what'?s|whats|wats|what is|wat is|send me|give me|gimme|tell me) {UR} (?:address|addy|phone number|phone|number|digits|cell|mobile|real name|last name|surname|full name|school name|email|e-mail|home address|postcode|zip ?code|zip)\b", 0.6, "asks personal details", cue="personal_info"),
        P(r"\bwhat school (?:do|d) {U}\b|\bwhich school\b|\bwhat(?:'s| is)? (?:the name of )?{UR} school\b|\bwhat street\b|\bwhat(?:'s| is) {UR} (?:house|flat|apartment) number\b|\bwhere(?:'s| is) {UR} school\b|\bwhat bus\b", 0.6, "asks school or street", cue="personal_info"),
        P(r"\bcan i (?:have|get) {UR} (?:number|address|addy|digits|email)\b|\b{ILL} (?:need|want) {UR} (?:number|address|addy)\b", 0.55, "asks contact details", cue="personal_info"),
        P(r"\bwhich (?:house|flat|door) (?:number|no)\b|\bwhich (?:road|street) is {UR}\b|\bwhich bus do {U}\b|\bwhat(?:'s| is) {UR} (?:passcode|password|pin)\b|\bwhich school {R} {U}\b|\bwhat school {R} {U}\b|\bwhat(?:'s| is) {UR} (?:birthday|bday),? the full date\b|\bfull (?:date|name)\b", 0.6, "asks identifying details", cue="personal_info"),
    ],
    Category.PLATFORM_MOVE: [
        P(r"\badd me (?:on|in|at|to)?\s*{PLATFORM}\b|\badd me\b", 0.45, "asks to add on another platform", cue="platform"),
        P(r"\b(?:do|d) {U} (?:have|got|use) (?:a |an )?{PLATFORM}\b|\b(?:what'?s|whats|wats|what is|wat is|send me|give me|gimme) {UR} {PLATFORM}\b|\bmy {PLATFORM} (?:is|name|id|username)\b|\b{U} on {PLATFORM}\s*\?", 0.5, "asks for another platform", cue="platform"),
        P(r"\b(?:let'?s|lets|can we|could we|we should|we can|wanna|want to|we could) (?:talk|chat|move|go|switch|continue|speak|message|msg|text|carry on|keep talking) (?:on|to|over to|over on|in|via) {PLATFORM}\b|\b(?:talk|chat|message|msg|txt|text|dm|pm|hit me up|hmu|write) (?:me )?(?:on|in|over|via|thru|through) {PLATFORM}\b", 0.65, "moves chat to another platform", cue="platform"),
        P(r"\b(?:somewhere|some ?place|an app|app|chat|room|place) (?:that'?s |that is |thats |more )?(?:more )?private\b|\bprivate (?:chat|room|place|app|message|msg)\b|\b(?:go|move|talk|chat) (?:in|on)? ?private(?:ly)?\b|\b(?:dm|pm|im|inbox) me\b|\bmessage me privately\b|\bwhere (?:no one|nobody|noone) can see\b|\bmore private\b|\bdisappear(?:ing)? messages\b|\b(?:secret|private|hidden|vanish) (?:mode|chat|account)\b", 0.6, "asks for a private channel", cue="private_channel"),
        P(r"\b(?:{ILL}|can i|let me|lemme) (?:text|call|ring|phone|facetime|message|msg|snap|dm) {U}\b|\b(?:text|call|ring) me\b|\bgive me a (?:call|ring)\b", 0.4, "asks to text or call", cue="platform"),
        P(r"\b(?:let'?s|lets|we can|we could|can we|wanna) (?:use|get|download|join|try|go (?:on|to)|move to|switch to) (?:{PLATFORM}|a private server|a private chat|private)\b|\badd my (?:{PLATFORM}|other account|second account|main|alt)\b|\b(?:do|d) {U} have (?:a |an )?(?:second|other|another|secret|private|spare) (?:account|phone|number)\b|\b(?:{U} )?got (?:{PLATFORM})\s*\?|\bturn on (?:disappearing|vanishing|secret) (?:messages|mode|chat)\b|\b(?:this|the) (?:chat|app|site|game) is (?:being )?(?:watched|monitored|moderated|logged)\b|\bmessage me (?:somewhere|where|on something)\b|\b(?:go|move) private\b", 0.6, "moves to a private channel", cue="private_channel"),
    ],
    Category.SECRECY: [
        P(r"\b{DONT} (?:tell|say|mention|show|let|talk about|speak about|tell on)\b(?: it| this| that| us| me)? (?:to )?(?:{UR} )?(?:{FAMILY}|them|her|him|any1)\b|\b{DONT} (?:tell|say) (?:a word|nothing|anything)\b", 0.7, "asks not to tell", cue="secrecy"),
        P(r"\b(?:our|a|r|the|lil|little|this|that|its|it's|it is|keep it|be|our own) (?:little |lil |special |own )?secrets?\b|\bsecret (?:between|from|just)\b", 0.55, "talks of a secret", cue="secrecy"),
        P(r"\b(?:keep|kept|keeping) (?:it|this|us|that|everything|these|this chat|it all|what we) (?:a )?(?:secret|between us|quiet|private|to (?:ur|your)self|on the (?:dl|down ?low|low)|hush)\b|\bjust between (?:{U}|us|me)\b|\bbetween (?:{U} (?:and|n|&) me|me (?:and|n|&) {U}|us two|the two of us)\b|\bon the (?:dl|down ?low)\b", 0.7, "keep it between us", cue="secrecy"),
        P(r"\b(?:delete|del|erase|clear|wipe|get rid of|remove) (?:the |this |our |these |ur |your |all |all the |all of |all our |those |that |any |every )*(?:chat|chats|message|messages|msg|msgs|messgaes|text|texts|convo|convos|conversation|conversations|pics|pictures|photos|history|dms|snaps|it after|everything)\b|\b(?:clear|delete|erase) {UR} (?:history|browser|phone|logs?)\b", 0.75, "asks to delete the chat", cue="delete_chat"),
        P(r"\b(?:no ?one|nobody|noone|no1|no body) (?:else )?(?:has to|needs to|need to|will|can|must|should|gotta|ever has to) (?:ever )?(?:know|find out|see|hear)\b|\b(?:they|{PARENT}|people) (?:would ?n'?t|would not|wont|won't|will not|dont|don't|do not|never) (?:understand|get it|approve|like it)\b", 0.7, "nobody needs to know", cue="secrecy"),
        P(r"\bif {UR} (?:{FAMILY}|them) (?:finds? out|sees?|saw|knew|know|found out|read|reads|caught)\b|\b(?:cant|can't|cannot|shouldnt|shouldn't) (?:tell|let) (?:any(?:one|body|1)|{UR} {FAMILY})\b|\b(?:get|be|go|end up) (?:in|into) (?:big |so much |a lot of )?trouble\b|\b(?:i|we) (?:could|would|will|might|can) (?:go|get sent|be sent) to (?:jail|prison)\b|\b(?:tell|say to) (?:them|{UR} {PARENT}|her|him) (?:{UR}|that {UR}|{U} r|{U} are|you're) (?:at|with|going to|staying)\b|\blie to (?:{UR} )?{FAMILY}\b|\b{DONT} let {UR} {FAMILY} (?:see|know|find|read)\b", 0.7, "hides contact from others", cue="secrecy"),
        P(r"\bpromise (?:{U} )?(?:won'?t|wont|will not|not to|to not|not) (?:tell|say|show)\b|\b(?:{UR} )?(?:{PARENT}|parents|friends|family|any(?:one|body)|no ?one) (?:doesn'?t|doesnt|don'?t|dont|do not|does not) (?:need|have) to know\b|\bit(?:'s|s| is) our (?:thing|business|little thing)\b|\bno one else'?s\b|\bput me in {UR} (?:phone|contacts) as\b|\b(?:save|put) (?:me|my number) (?:as|under) (?:a )?(?:girl|boy|friend|different|fake)\b|\b(?:just )?say {U} (?:were|was|r|are) (?:at|with)\b|\bif any(?:one|1|body) asks\b|\b(?:tell|say to) (?:them|{UR} {PARENT}|people) (?:i'?m|im|i am) a (?:friend|girl|kid)\b|\bsomewhere {UR} (?:{PARENT}) (?:wont|won'?t|cant|can'?t) see\b|\bafter {U} (?:read|see) (?:them|it)\b", 0.7, "hides the relationship", cue="secrecy"),
    ],
    Category.FLATTERY_TRUST: [
        P(r"\b(?:so |really |very |rly |soo+ |such a )?mature (?:for {UR} age|for a|4 {UR} age|4 ur age)\b|\bmature for {UR} age\b|\b{UR} (?:so |really |very |rly |soo+ )?(?:mature|grown ?up|wise|advanced) (?:for|4)\b|\b(?:age|ages) (?:is|r|are|iz) (?:just|only) (?:a )?(?:number|numbers)\b|\b{U} (?:seem|act|look|sound|talk) (?:way |so |much |a lot )?older\b|\bolder than {UR} age\b", 0.8, "mature for your age", cue="mature"),
        P(r"\b{UR} (?:so |really |very |rly |soo+ |such a |the most |realy |sooo+ )?(?:beautiful|pretty|cute|gorgeous|stunning|hot|sexy|adorable|amazing|perfect|special|lovely|sweet|smart|clever|different|unique|fit|peng|angel|babe|cutie)\b", 0.3, "compliments", cue="flattery"),
        P(r"\b(?:not|nothing|unlike) like (?:the )?other (?:girls|boys|kids|ppl|people)\b|\b{UR} (?:different|not like) (?:from )?(?:the )?other (?:girls|boys|kids)\b|\b{UR} (?:my )?(?:special|fav|favou?rite|only) (?:girl|boy|one|friend|person)\b|\b{UR} (?:so )?special to me\b", 0.55, "you're special", cue="flattery"),
        P(r"\b(?:i|only i) (?:really |truly )?(?:understand|get) {U}\b|\b{U} can (?:always )?(?:trust|tell|talk to) me\b|\b(?:trust|believe) me\b|\b{IM} (?:always )?(?:here|there) for {U}\b|\b{U} can tell me anything\b|\bi(?:'ll| will) never (?:hurt|judge|leave) {U}\b|\bi(?:'d| would) never (?:hurt|lie to) {U}\b", 0.45, "you can trust me", cue="trust"),
        P(r"\bi (?:love|luv|lov|adore|miss|need) {U}\b|\blove {U}\b|\bluv {U}\b|\bily\b|\bilysm\b|\b(?:thinking|thinkin|think) (?:about|bout|of) {U}\b|\bcant stop thinking\b|\b{U} mean (?:so much|everything|the world) to me\b|\bmy (?:girlfriend|boyfriend|gf|bf)\b|\bbe my (?:girlfriend|boyfriend|gf|bf|gurl|girl)\b", 0.4, "declares affection", cue="affection"),
        P(r"\b(?:hey|hi|hii+|hello|heya|hiya|night|nite|gn|morning|gm|ok|okay|kk|yes|yeah|ya|yep|thanks|thank u|thx|ty|love u|love you|miss u|miss you|luv u|mmm+|aw+|sorry|bye|cya|lol|night night|sleep well|sweet dreams|good girl|good boy|my|u r|ur|you're|youre|ure) (?:my )?(?:baby|babe|babes|sweetie|sweetheart|sweety|hun|hunny|honey|princess|darling|cutie|angel|babygirl|baby girl|lil one|little one|kiddo|pumpkin|sexy|gorgeous|beautiful)\b(?! (?:brother|sister|sis|bro|shower|girl|boy|pics?|photos?|clothes|food|steps?|teeth|shark|bird|animals?|sheep|goats?|cows?|dogs?|cats?|pigs?|lambs?|ducks?|chicks?|video|scan|monitor|wipes|names?))", 0.25, "pet names", cue="pet_name"),
        P(r"\b{UR} (?:so |really |way |much |a lot |so much )?(?:more )?(?:mature|grown ?up|smarter|wiser|cooler|nicer|better) (?:than|then) (?:my |other |people|kids|any|ur|your|most|girls|boys)\b|\b{U} (?:talk|act|sound|think|seem) (?:like|just like) (?:an adult|a grown ?up|an older)\b|\b{UR} (?:so )?grown ?up\b|\b{U} could be a model\b|\b(?:i bet )?all the (?:boys|girls|guys) (?:like|fancy|want) {U}\b|\bany(?:one|1) would be lucky to have {U}\b|\bi'?(?:ve|ve never|ve not) (?:never )?met (?:some(?:one|1)|any(?:one|1)) like {U}\b|\b(?:special|real|deep) connection\b|\b(?:i feel like )?i(?:'ve| have)? known {U} forever\b|\bi wish every(?:one|1) was (?:as|like)\b|\b{U} (?:always )?(?:make me|know (?:wat|what) to say)\b", 0.5, "flatters and bonds", cue="flattery"),
        P(r"\bi(?:'ll| will) always be (?:here|there) for {U}\b|\bi care about {U} (?:more|so much)\b|\bi hate (?:it )?when {UR} (?:upset|sad)\b|\btell me what'?s wrong\b|\b{U} seemed (?:sad|upset|down)\b|\bi feel like i can tell {U} anything\b|\b(?:we'?re|we are) (?:like )?(?:best friends|besties|soulmates)\b|\b{UR} my (?:best friend|bestie|bff) (?:on here)?\b|\b(?:i was |been )?(?:thinking|thinkin|thinikng) (?:about|of|bout) {U}\b|\bi missed {U}\b", 0.45, "builds emotional dependence", cue="trust"),
        P(r"\b(?:would|will) {U} (?:ever )?(?:go out with|date|be with|kiss) (?:someone|some1|a guy|a man|a boy|an adult) (?:older|my age)\b|\bsomeone older\b|\bolder (?:guys|men|boys|girls|people) (?:are|r) better\b|\bi'?d be a (?:better|good) (?:bf|gf|boyfriend|girlfriend)\b|\bhas a (?:boy|girl) ever asked {U} out\b", 0.65, "romantic interest across ages", cue="mature"),
    ],
    Category.ISOLATION: [
        P(r"\b{UR} (?:{FAMILY}|mates|classmates|teachers?) (?:{DONT}|dont|doesnt|doesn't|do not|never|cant|can't|wont|won't) (?:really |even )?(?:understand|get|care about|care|listen to|listen|love|respect|appreciate|deserve|like|notice|see|trust) {U}\b", 0.75, "says others don't care", cue="isolation"),
        P(r"\b(?:{IM}|i'm) the only (?:one|person|1)(?: who| that)? (?:really |truly )?(?:understands?|gets|cares|loves|listens)\b|\bonly (?:i|me) (?:really |truly )?(?:understand|get|care|love)\b|\b(?:no ?one|nobody|noone) (?:else )?(?:understands?|gets|cares? about|loves|knows) {U} (?:like|the way|as much as) (?:i|me)\b|\bno ?one (?:else )?(?:cares|loves {U})\b", 0.8, "only I understand you", cue="isolation"),
        P(r"\b{U} (?:{DONT}|dont) need (?:them|{UR} (?:friends|family|parents|mates)|any(?:one|body) else|other (?:friends|people))\b|\b(?:forget|ditch|dump|ignore|leave) (?:them|{UR} (?:friends|mates|parents|family))\b|\b(?:stop|quit) (?:talking|hanging|hanging out) (?:to|with) (?:them|{UR} friends|her|him)\b", 0.7, "you don't need them", cue="isolation"),
        P(r"\b{UR} (?:friends|mates|parents|{PARENT}|family|teachers) (?:are|r|is|iz|sound|seem) (?:so |too |really |very )?(?:immature|childish|jealous|mean|controlling|strict|fake|annoying|stupid|unfair|overprotective|boring|horrible|toxic)\b|\b(?:they|{UR} {PARENT}|{UR} parents) (?:treat|treats) {U} like a (?:kid|baby|child|little kid)\b|\bthey(?:'re| are| r) (?:just )?jealous\b", 0.6, "runs down family and friends", cue="isolation"),
        P(r"\b{UR} (?:{FAMILY}|mates|classmates|teachers?|sister|brother) (?:just |really |even )?(?:{DONT}|dont|doesnt|doesn't|do not|does not) (?:really |even )?(?:see|notice|value|get|appreciate) (?:how|what|that|{U})\b|\b{UR} (?:sister|brother|mum|mom|dad|family|friends|teachers?) (?:sounds?|seems?|(?:is|are|r) being) (?:so )?(?:horrible|mean|awful|nasty|bad) to {U}\b|\bonly i (?:really )?(?:listen|care|understand)\b|\bi care about {U} more than (?:they|them|anyone)\b|\bwhy do {U} (?:even )?(?:hang out|talk|bother) with them\b|\btalking to {U} is better than\b|\b{UR} the only (?:person|one) i (?:really )?(?:talk|care)\b", 0.65, "sets them apart from others", cue="isolation"),
    ],
    Category.GIFTS_MONEY: [
        P(r"\b{ILL} (?:buy|get|send|give|pay for|pay|gift|order|treat) {U} (?:a |an |some |new |the |more |whatever|anything|something|stuff|things|it|one|clothes|makeup|phone|robux|vbucks|v-bucks|gems|coins|skins?|nitro|money|cash|top ?up|credit|gift ?card|present|gift)\b|\b{ILL} (?:buy|get) it for {U}\b|\b{ILL} pay (?:for|ur|your)\b", 0.6, "offers to buy things", cue="gifts"),
        P(r"\b(?:free|want|wanna|need|i have|ill give u|i'll give u|some) (?:robux|vbucks|v-bucks|v bucks|gems|coins|nitro|skins?|diamonds|minecoins|tokens|gift ?cards?|codes?)\b|\bgift ?cards?\b|\bitunes card\b|\bsteam (?:card|code|wallet)\b", 0.45, "offers game currency or gift cards", cue="gifts"),
        P(r"\b(?:paypal|venmo|cash ?app|cashapp|zelle|revolut|monzo|bank (?:details|account)|sort code|western union)\b|\b(?:send|give|pay|wire|transfer) {U} (?:money|cash|\$|£|€|bucks|quid|dollars|pounds)\b|\b(?:\$|£|€)\s?\d+\b|\b\d+ ?(?:dollars|bucks|quid|pounds)\b", 0.45, "offers money", cue="gifts"),
        P(r"\b(?:a |ur |your |little |special |nice )?(?:present|gift|surprise|treat) (?:for|4) {U}\b|\b{U} deserve (?:nice|a|better|something|gifts|presents)\b|\bspoil {U}\b|\bi(?:'ll| will) take care of {U}\b", 0.45, "presents and spoiling", cue="gifts"),
        P(r"\bi (?:got|bought|sent|have|ordered) {U} (?:something|a present|a gift|a surprise|a little something)\b|\b(?:top|topup|top-up) up {UR} (?:phone|credit|account|balance)\b|\b(?:want|wanna) me to (?:buy|get|top up|pay)\b|\b{ILL} treat {U}\b|\bspare (?:code|key|gift)\b|\bphone credit\b", 0.55, "gives gifts", cue="gifts"),
    ],
    Category.IMAGE_REQUEST: [
        P(r"\b(?:send|sned|snd|snap|show|post|share|take|get|give|text|dm|pm|email|mail) (?:me |us |me a |me some |me another |me more |me ur |me your |me one )?(?:a |an |some |another |more |ur |your |one |new |cute |nice |sexy |hot |full |full body )*(?:{PIC}|pic of {UREF}|photo of {UREF})\b", 0.6, "asks for a picture", cue="image"),
        P(r"\b(?:can|could|may|do|will|would|gonna|wanna|want to|let) (?:i|me|u|you) (?:see|have|get|send|show) (?:a |an |some |another |more |ur |your |one |me )*(?:{PIC})\b|\b(?:{PIC}) (?:of|from) {UREF}\b|\b{U} (?:got|have|take) (?:any |some )?(?:more )?(?:{PIC})\b", 0.55, "asks for a picture", cue="image"),
        P(r"\b(?:do|d|have|got) {U} (?:have|got)? ?(?:a |an )?{CAM}\b|\b(?:turn on|get on|put on|go on|switch on|use|open|come on) (?:ur |your |the |my )?{CAM}\b|\b(?:on|over|via) {CAM}\b|\b{CAM} (?:with me|2 ?nite|tonight|now|chat|sesh|session)\b|\b(?:video ?call|video ?chat|vc|face ?time) (?:me|now|tonight|later)\b", 0.6, "asks to go on camera", cue="cam"),
        P(r"\b(?:show|let me see|lemme see|wanna see|want to see|i want to see|can i see) (?:me )?(?:ur |your |more of |all of )?(?:{UREF}|face|body|outfit|legs|tummy|belly|hair|room)\b|\bwhat {R} {U} wearing\b|\bwat {R} {U} wearing\b|\bwhat {U} wearing\b|\bwhat (?:do|did) {U} (?:wear|sleep in)\b", 0.55, "asks to see them", cue="image"),
        P(r"\b(?:in|wearing|with|without|only|just) (?:ur |your |a |my |no )?{CLOTHES}\b|\b(?:take|took) (?:it|them|ur|your|something) off\b|\b(?:less|without|no) (?:clothes|top|shirt|clothing)\b|\bwith (?:nothing|less) on\b", 0.65, "asks about clothing", cue="clothing"),
        P(r"\b(?:one|a pic|a photo|another one|just one|only one|one more) (?:just )?(?:for|4) me\b|\bfor my eyes only\b|\b(?:i|nobody|no one) (?:will|wont|won't|will not) (?:show|share|save) (?:it|them|anyone)\b|\bi promise (?:i wont|i won't|not to) (?:show|share|save)\b", 0.7, "promises to keep the picture private", cue="image_private"),
        P(r"\b(?:wat|what|how) do {U} look like\b|\b(?:{PIC}) or it (?:didn'?t|didnt|did not) happen\b|\bi sent {U} one,? {UR} turn\b|\b{UR} turn\b|\bface ?time me\b|\b(?:send|sed|sned) (?:me )?(?:a |one )?(?:{PIC})\b", 0.5, "asks for images", cue="image"),
    ],
    Category.SEXUAL_CONTENT: [
        P(r"\b(?:sex|sexy|sexual|horny|naughty|dirty|kinky|turned on|turn {U} on|aroused|make ?out|making out|foreplay|orgasm|cum|cumming|masturbat\w*|jerk(?:ing)? off|jack(?:ing)? off|wank\w*|porn|nude|naked|strip|undress\w*|lick|suck|blow ?job|bj|oral|virgin|virginity)\b", 0.45, "sexual talk", cue="sexual"),
        P(r"\b(?:boobs?|tits|breasts?|nipples?|dick|cock|penis|pussy|vagina|privates|down there|between (?:ur|your) legs|private parts|erection|hard[- ]?on)\b", 0.35, "body talk", cue="body"),
        P(r"\b(?:have|has|did|ever) {U} (?:ever )?(?:had|have|been|done|kissed|touched|made out|had sex|done it|do it|been with|got (?:a )?(?:bf|gf|boyfriend|girlfriend))\b|\b{R} {U} (?:still )?(?:a )?virgin\b|\b(?:ever|evr) (?:been )?(?:kissed|touched|had a (?:bf|gf|boyfriend|girlfriend)|done it|had sex|made out)\b|\b{U} (?:ever|evr) (?:think about|thought about|wonder about) (?:kissing|sex|doing|boys|girls|it)\b", 0.55, "asks about experience", cue="experience"),
        P(r"\b(?:kiss|kissing|kisses|cuddle|cuddling|touch|touching|feel|hold|rub|massage|snuggle|lay|lie|sleep|sleeping) (?:{U}|me|each other|ur|your|with {U}|with me|together|next to)\b|\b(?:in|into|on) (?:bed|my bed|ur bed|your bed) (?:with|together)\b|\b(?:how (?:big|small)|what size) (?:{R}|is|r) (?:ur|your|they|it)\b|\bwhat (?:size|cup)\b|\b(?:body|figure) (?:is|looks?) (?:so )?(?:hot|sexy|good|nice|amazing)\b|\bwhat (?:would|will|do) {U} (?:do|let me do)\b|\b(?:do|did|have) {U} (?:ever )?(?:touch|play with|feel) (?:ur|your)self\b", 0.5, "physical intimacy talk", cue="intimacy"),
        P(r"\b(?:teach|show) {U} (?:how|things|stuff|what)\b|\b{ILL} (?:teach|show) {U}\b|\bpractice (?:kissing|on me)\b|\bour (?:first|1st) (?:time|kiss)\b|\b(?:first|1st) time\b", 0.4, "offers to teach", cue="teach"),
    ],
    Category.MEETING: [
        P(r"\b(?:we|we could|we should|we can|wanna|want to|lets|let's|can we|could we|when can we|when will we|do {U} want to|would {U} like to|we gotta|we have to|i want to|i wanna|i'd like to|id like to|hope we can|should we|shall we) (?:finally |ever |actually |one day |someday |soon )?(?:meet|meet up|hook up|hang out|hangout|get together|see each other|see u|see you|link up|chill|go out)\b|\bmeet (?:up|me|u|you|ya|in person|irl|in real life|somewhere|at|after school|tomorrow|tonight|this weekend|on saturday|on sunday)\b|\b(?:meeting|meetin) (?:up|u|you)\b", 0.6, "suggests meeting", cue="meeting"),
        P(r"\b{ILL} (?:pick|come get|come and get|fetch|collect|drive|come over|come see|come visit|come to|visit|meet|wait for|drop) (?:{U}|ur|your|by)\b|\bpick {U} up\b|\bpick (?:u|you) up\b|\bcome (?:and )?get {U}\b|\bgive {U} a (?:ride|lift)\b", 0.7, "offers to pick up or visit", cue="pickup"),
        P(r"\b(?:come|drive|travel|fly|get a bus|get the bus|take a bus|take the train|get the train|walk) (?:over |down |up |out )?(?:to|there|here|by) (?:ur|your|my|the|me|{U}r) ?(?:place|house|home|town|city|area|street|school|park|mall|apartment|flat|room|hotel)?\b|\b(?:come|stay|sleep) over\b|\b(?:spend|stay) the night\b|\bsleep ?over\b|\b(?:hotel|motel) room\b|\b(?:bus|train) (?:ticket|tickets|station|fare)\b|\bi(?:'ll| will) (?:pay|get) (?:for )?(?:ur|your|the) (?:ticket|bus|train|uber|taxi|cab)\b", 0.55, "arranges travel or a visit", cue="meeting"),
        P(r"\b(?:sneak|slip|get) out\b|\b(?:tell|say to) (?:ur|your) {PARENT} (?:ur|you're|youre|u r|you are) (?:at|with|going to|sleeping at|staying at)\b|\bwhen (?:can|could|will|do) {U} (?:get away|sneak out|come out|come over|be alone)\b|\b(?:near|outside|behind|by|round|around) (?:ur|your) (?:school|house|home|place|street|work)\b|\bwhat time (?:can|should|do|will) (?:we|{U}) (?:meet|come|get out|be free|be there)\b|\bwhere (?:should|can|do|could|will) we (?:meet|go)\b|\bi(?:'ll| will) be (?:there|waiting)\b|\bi(?:'m| am)? (?:on my way|omw|outside|here)\b", 0.6, "plans to meet in secret", cue="meet_secret"),
        P(r"\bcome alone\b|\bi(?:'ll| will| can)? wait (?:round|around|near|outside|by|at) (?:the corner|{UR}|the)\b|\b{U} could come (?:to|round|over to) (?:mine|my (?:place|house|flat))\b|\bis (?:that|it) safe for {U} to get to\b|\b(?:it'?s|its) only (?:like )?(?:an|a|\d+) (?:hour|hr|min|mins|minutes|miles?) away\b|\bi could (?:drive|pick|meet|come)\b|\bwe could meet\b|\bcome to mine\b", 0.6, "arranges to meet", cue="meeting"),
    ],
    Category.COERCION: [
        P(r"\bor else\b|\bif {U} (?:dont|don't|do not|wont|won't|will not|refuse|stop|block me|tell)\b.{0,40}\b(?:i(?:'ll| will)|ill|im gonna|i'm gonna|gonna)\b", 0.6, "threatens", cue="coercion"),
        P(r"\b{ILL} (?:tell|show|send|post|share|leak|upload|forward|expose|put)\b.{0,30}\b(?:everyone|every1|every one|ur|your|them|it online|online|the internet|the pics|ur pics|your pics|ur photos|your photos|the photos|the video|ur school|your school)\b", 0.75, "threatens to expose", cue="coercion"),
        P(r"\b(?:everyone|every1|ur (?:friends|parents|school|family|mum|mom|dad)|your (?:friends|parents|school|family|mum|mom|dad)) (?:will|wil|gonna|going to|is gonna|are gonna|would|r gonna) (?:see|know|find out|hear about|get)\b", 0.7, "threatens exposure", cue="coercion"),
        P(r"\b{U} (?:owe|promised|said {U} would|agreed)\b|\b{U} (?:have|need|got|gotta|must) (?:to )?(?:do|send|show|come|obey|listen)\b|\b(?:do it|send it|send them|do what i say) (?:now|or|right now|already)\b|\b(?:prove|show) (?:it|that {U}|{U} love|{U} care|{UR} love)\b|\bif {U} (?:really |truly )?(?:loved|love|cared about|care about|liked|like|trust|trusted) me\b|\b{DONT} make me\b|\blast chance\b|\b{U}(?:'ll| will| r gonna| are gonna) (?:regret|be sorry)\b", 0.6, "pressures to comply", cue="coercion"),
        P(r"\b(?:no ?one|nobody|noone) (?:will|would|is gonna|is going to|r gonna) (?:believe|belive|beleive) {U}\b|\b(?:i know|i have|i got) (?:where {U} (?:live|go to school)|{UR} (?:address|school|pics|photos|nudes|videos))\b|\b{ILL} (?:hurt|kill|find) (?:myself|{U}|ur|your)\b|\b(?:it|this) (?:will|would|is gonna) (?:ruin|destroy) {UR}\b|\b{U} (?:started|wanted) (?:it|this)\b|\b{IM} (?:getting )?(?:mad|angry|upset|pissed) (?:at|with) {U}\b", 0.75, "blackmail or intimidation", cue="coercion"),
        P(r"\b{U} made me wait\b|\b{U} (?:should|have to|need to) stay (?:on|online)\b|\bafter (?:everything|all) i(?:'ve| have)? (?:done|did|bought|given)\b|\b{U} (?:can'?t|cant) (?:back out|say no|stop now)\b|\b(?:i'?ll|ill|i will) be (?:so )?(?:sad|upset|hurt) if {U}\b|\b{UR} (?:being|so) (?:ungrateful|selfish)\b", 0.6, "pressure and guilt", cue="coercion"),
        P(r"\b(?:cut|hurt|harm|burn|carve|scratch|bleed|punish|starve) (?:urself|yourself|ur self|your self|ur (?:arm|wrist|leg|skin)|your (?:arm|wrist|leg|skin))\b|\bcarve (?:my|his|her|the|a|our) (?:name|initials|number|letters?|sign)\b|\b(?:kill|end) (?:urself|yourself|it all)\b|\bkys\b|\b(?:do|show|film|record) (?:it|that|this) (?:on|for|over) (?:cam|camera|video|live|stream|call)\b.{0,30}\b(?:or|else|now)\b", 0.9, "demands self-harm", cue="self_harm"),
        P(r"\b(?:{ILL}|gonna|imma|ima) (?:dox|doxx|swat)(?:x)? {U}\b|\b(?:{ILL}|gonna|imma|ima) (?:post|leak|share|publish|spread) {UR} (?:address|home address|school|phone number|number|location|real name|family)\b|\bi (?:have|got|found|know) {UR} (?:address|home address|ip|location|real name)\b", 0.75, "threatens to expose who they are", cue="doxxing"),
    ],
    Category.SEXTORTION: [
        P(r"\b(?:{ILL}|i'?m going to|im going to|imma|ima|i will|will|gonna|we(?:'ll| will|'re gonna| are gonna| gonna| r gonna)?) {DIST}\b.{0,40}?\b{IMGS}\b.{0,30}?\b(?:to |on |with |all over )?{AUDIENCE}|\b(?:{ILL}|i'?m going to|im going to|imma|ima|gonna|we(?:'ll| will|'re gonna| gonna)?) {DIST} {AUDIENCE}\b.{0,20}\b{IMGS}\b|\b{AUDIENCE} (?:will|is gonna|are gonna|gonna|r gonna|is going to|are going to|would) (?:see|get|have|know about|find out about) (?:{UR} |the |ur |all )?(?:{IMGS}|what {U} (?:sent|did|look like))\b|\b(?:or|else|otherwise|before) {AUDIENCE} (?:sees?|gets?) (?:{UR} |the |ur |all )?{IMGS}\b|\b(?:or|else|otherwise) (?:it|they|ur pics|the pics|ur pictures|this|the video)(?:'s| is| are)? (?:going|goes|go|gets posted|get posted|gets sent|get sent) (?:on|to|out to|up on|all over) {AUDIENCE}", 0.85, "threatens to share images", cue="image_threat"),
        P(r"\bunless {U} (?:pay|send|give|do|get)\b|\bif {U} (?:dont|don't|do not|wont|won't) (?:pay|send (?:me )?(?:the )?(?:money|cash|card|code)|give me)\b.{0,60}\b(?:{DIST}|see|everyone)\b|\bpay (?:me )?(?:or|otherwise|else)\b|\b(?:pay|send (?:the )?(?:money|cash|code|card)) (?:and|n) (?:i'?ll|ill|i will) (?:delete|remove|not (?:send|post|share))\b", 0.85, "demands payment or else", cue="extortion"),
        P(r"\b(?:i|we) (?:have|got|saved|kept|recorded|screen ?recorded|screenshotted|screenshot|copied|downloaded) (?:{UR} |the |all (?:ur|your|the|of) |all of (?:ur|your|the) |all )?(?:{IMGS}|them all|all of them|everything u sent|everything you sent|what u sent|what you sent|follower list|followers|following list|friends list|friend list|contacts|(?:ur|your) follower)\b|\b(?:look|see) (?:at )?what (?:i|we) (?:have|got)\b|\b(?:i|we) (?:screen ?recorded|recorded|saved|captured) (?:the |our |ur |your |that |the whole |our whole )?(?:call|video ?call|facetime|stream|live|cam|snap)\b|\b(?:recognise|recognize|remember) this\b|\bi (?:know|found|have) (?:{UR} |all (?:ur|your) )?(?:school|address|family|followers|parents|mum|mom|dad|friends list|where {U} (?:live|go to school))\b", 0.6, "holds images or leverage", cue="leverage"),
        P(r"\b{U} (?:have|got|have got|only have) (?:\d+|one|two|three|five|ten|fifteen|twenty|thirty) ?(?:more )?(?:mins?|minutes|hrs?|hours|secs?|seconds)\b|\b(?:in the next|within|in) (?:\d+|one|two|five|ten|fifteen|thirty) ?(?:mins?|minutes|hrs?|hours)\b(?=.{0,40}\b(?:or|else|send|post|pay|everyone|ur)\b)|\b(?:clock(?:'s| is) ticking|tick tock|times? (?:is )?running out|running out of time|before (?:midnight|tonight|the timer)|by (?:midnight|tonight|tomorrow morning))\b", 0.5, "sets a deadline", cue="deadline"),
        P(r"\b(?:pay|send|give|transfer|wire) (?:me )?(?:\$|£|€)\s?\d+|\b(?:pay|send|give) (?:me )?\d+ ?(?:dollars|bucks|quid|pounds|euros|usd|gbp)\b|\b(?:send|buy|get) (?:me )?(?:an? |some |\d+ )?(?:(?:\$|£|€)\s?\d+ ?(?:in |of |worth of )?)?(?:apple|itunes|google ?play|steam|amazon|visa|razer|xbox|psn|playstation|roblox|vanilla) ?(?:gift )?(?:cards?|codes?|vouchers?)\b|\b(?:cash ?app|cashapp|paypal|venmo|zelle|apple pay|bitcoin|btc|crypto|usdt|ethereum|eth|bitcoin atm|btc atm|coinbase)(?: me| it| now| tag| address| handle| wallet)?\b.{0,30}\b(?:now|asap|fast|or else|before|or|unless|\d+)\b|\bmy (?:cash ?app|cashapp|paypal|venmo|zelle|btc|bitcoin|wallet) (?:is|tag|handle|address)\b", 0.6, "demands payment", cue="payment_demand"),
    ],
}

# Contexts that make a hit harmless or ordinary; a dampened hit keeps this share.
DAMPEN_FACTOR = 0.25
DAMPENERS: dict[str, str] = {
    Category.SECRECY: r"\b(?:surprise|party|present|presents|gift|gifts|birthday|bday|b-day|xmas|christmas|anniversary|proposal|propose|engagement|spoiler|spoilers|ending|finale|plot|recipe|crush on|likes? (?:him|her)|fancy|fancies|cake)\b",
    Category.IMAGE_REQUEST: r"\b(?:receipt|ticket|homework|worksheet|screenshot|screen shot|ss|menu|map|timetable|schedule|invoice|document|doc|form|passport|label|parcel|package|dog|cat|puppy|kitten|car|view|sunset|food|dinner|cake|outfit for the party|meme|memes|build|base|skin|loadout|score|rank|stats|leaderboard|the game|clip|highlight)\b",
    Category.GIFTS_MONEY: r"\b(?:birthday|bday|christmas|xmas|for (?:ur|your) (?:mum|mom|dad|sister|brother|teacher)|split|owe me|lunch money|pocket money|allowance|refund|order|shop|store|sale|discount|subscription|bill|rent|invoice)\b",
    Category.MEETING: r"\b(?:practice|training|match|game|rehearsal|lesson|tutoring|class|appointment|dentist|doctor|school run|pick (?:u|you) up (?:from|at) (?:school|practice|training|the station|grandma)|at (?:6|7|8|5|4|3)(?:pm)?)\b",
    Category.PLATFORM_MOVE: r"\b(?:server|guild|clan|squad|team|party chat|lobby|gamertag|friend code|xbox|psn|steam|epic|roblox|minecraft|fortnite)\b",
    Category.COERCION: r"\b(?:lol|lmao|jk|joking|kidding|haha|hahaha|game|match|round|boss|level|raid|noob|gg)\b",
    Category.SEXTORTION: r"\b(?:jk|joking|kidding|haha+|hahaha+|lmao+|lmfao|😂|🤣|jkjk|as if|for sale|selling|buyer|seller|listing|shipping|refund|invoice|homework|chores|xbox goes|phone goes|grounded|bedtime|cheater|cheating|hacker|hacking|aimbot|clip of u|ur gameplay|the server)\b",
}

# Evidence that a participant is a child, or that the other knows they are.
CHILD_CONTEXT: list[Pattern] = [
    P(r"\b{IM} (?:only |just |almost |nearly |turning |gonna be )?{YOUNG_AGE}\b(?! ?(?:min|mins|minutes|hours|hrs|pm|am|miles|km|%|dollars|bucks|quid|pounds|inches|times|percent|o'?clock|k\b))", 0.8, "says they are under 16"),
    P(r"\b(?:asl|a/s/l|how old (?:r|are|re) (?:u|you|ya)|what(?:'s| is)? (?:ur|your) age|age)\s*\??\s*(?:{IM} )?{YOUNG_AGE}\b(?! ?(?:min|mins|minutes|hours|hrs|pm|am|miles|km|%))", 0.75, "answers an age question with an age under 16"),
    P(r"\b{IM} (?:only |just )?1[67]\b(?! ?(?:min|mins|minutes|hours|hrs|pm|am|miles|km|%|dollars|bucks|quid|pounds|inches|times|percent|o'?clock))|\b1[67] ?(?:yo|y/o|yrs|years old)\b", 0.35, "says they are 16 or 17"),
    P(r"\b{YOUNG_AGE} ?(?:yo|y/o|y\.o\.|yrs|years|year|yr)(?: old)?\b|\b{YOUNG_AGE} ?/ ?[fm]\b|\b{YOUNG_AGE} [fm]\b|\b[fm] ?/ ?{YOUNG_AGE}\b|\b{YOUNG_AGE} (?:f|m|girl|boy) (?:from|here|in)\b", 0.7, "states an age under 16"),
    P(r"\b(?:i'?m|im|i am|in) (?:in )?(?:the )?(?:[4-9]th|fourth|fifth|sixth|seventh|eighth|ninth|5th|6th|7th|8th|9th) (?:grade|grd)\b|\b(?:year|yr) (?:[4-9]|10)\b|\b(?:middle|junior high|elementary|primary|intermediate) school\b|\bjr high\b|\bfreshman in high school\b|\bmiddle skool\b", 0.7, "school year of a child"),
    P(r"\b(?:my|mi) {PARENT} (?:said|says|wont let|won't let|doesnt let|doesn't let|would kill|will kill|would ground|grounded|took|takes|checks|makes|yelled|is yelling|is calling|is home|just got home|is coming|picks me up|drops me off)\b|\b(?:i'?m|im|i am|i got|got) grounded\b|\b(?:my )?bedtime\b|\bcurfew\b|\bhomework\b|\brecess\b|\bschool bus\b|\bbabysitter\b|\bmy (?:teacher|form tutor|principal|headteacher)\b|\b(?:no|dont have a|not allowed a) phone\b|\bnot allowed (?:to|on)\b", 0.45, "child's everyday life"),
]


# A reply that is just an age ("12", "13 u?", "14 f") right after an age question.
AGE_REPLY = r"^\W*{YOUNG_AGE}\b(?! ?(?:min|mins|minutes|hours|hrs|pm|am|miles|km|%|:))(?:\W+(?:u|you|wbu|hbu|f|m|girl|boy|and u|n u|\?))*\W*$"
AGE_REPLY_WEIGHT = 0.8


def compiled_patterns() -> dict[str, list[tuple[object, Pattern]]]:
    """Compile every category's patterns (macros expanded) once."""
    import regex

    return {
        category: [(regex.compile(expand(p.regex)), p) for p in patterns]
        for category, patterns in PATTERNS.items()
    }


# A participant stating their own age ("im 35", "35 m", "m/35", "asl 14 f uk"): the
# number is captured. Ages under 16 are child evidence; an adult age beside a child's
# is an age gap. Numbers followed by units or times are not ages.
_NOT_AN_AGE = r"(?! ?(?:min|mins|minutes|hours|hrs|h\b|pm|am|miles|mi\b|km|%|dollars|bucks|quid|pounds|inches|in\b|cm|ft|times|percent|o'?clock|k\b|th\b|st\b|nd\b|rd\b|:|\.\d|,\d|secs?|seconds|days|weeks|months|lbs?|kg|kilos|people|ppl|more|of|x\b|mb|gb))"
STATED_AGE: tuple[str, ...] = (
    r"\b(?:{IM}|asl|a/s/l|age|aged|my age is|my age's)\s*(?:is\s*)?(?:only |just |almost |nearly |turning )?(\d{1,2})\b" + _NOT_AN_AGE,
    r"\b(\d{1,2}) ?(?:/ ?)?(?:yo|y/o|y\.o\.|yrs old|years old|year old|yr old|yrs|m|f|male|female|guy|girl|boy)\b(?:\s|$|[/,.!?])",
    r"\b(?:m|f|male|female)\s?/\s?(\d{1,2})\b",
)
MIN_STATED_AGE = 8
MAX_STATED_AGE = 79
