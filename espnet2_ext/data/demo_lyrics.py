"""The lyric lines of the demo corpus (Mandarin, one line = 6-8 characters, one syllable each).

    LYRICS      the 44 lines every split of the demo corpus sings (train, dev, test, test_ood):
                an utterance sings (a prefix of) two consecutive lines
    NEW_LYRICS  44 more lines in the same style for test_newlyrics / test_newlyrics_ood: no line,
                and no 3-character run of two consecutive lines, occurs in LYRICS, and every
                phone they need occurs in LYRICS (so the training token list covers them)
"""

LYRICS = [
    "月亮照在小河上", "我在远方想着你", "春风吹过绿草地", "星星点亮了夜空", "你的笑容像花开",
    "走过山路和海边", "天空飘着白云朵", "雨水落在我心上", "我们一起唱首歌", "梦里回到老家门",
    "长长的路慢慢走", "风中有你的声音", "花开花落又一年", "红红的太阳升起", "小鸟飞过高山顶",
    "今夜的风很温柔", "大海的歌声不停", "你是我心中的光", "远方的人请听我", "雪花飘飘满天飞",
    "我的爱像一条河", "明天会更加美好", "秋天的叶子变黄", "回头看见你的脸", "轻轻唱给妈妈听",
    "青山绿水在眼前", "灯火照亮回家路", "时间带走了少年", "心里话说给你听", "阳光洒满小窗台",
    "我愿陪你到白头", "一起看过的日出", "江水向东流不回", "城里下着小雨", "你的手那么温暖",
    "天上的云在飘", "唱一首快乐的歌", "思念像风一样长", "草原上的马儿跑", "夜里想起你的歌",
    "春天的花儿开了", "船儿飘在湖面上", "抬头看见满月亮", "我们的故事很长",
]

NEW_LYRICS = [
    "夕阳染红了山岗", "晚风轻抚我的发", "田野里麦浪翻滚", "他在桥头等了很久", "窗前蝉鸣声声响",
    "妈妈做的饭最香", "一盏孤灯伴我眠", "落叶飘进了院子", "溪水叮咚往前流", "我把心事写成信",
    "爸爸的背影渐远", "故乡的桂花又香", "北方的雪下得早", "海鸥掠过蓝色浪", "钟声敲响在黄昏",
    "老街的石板路长", "燕子衔泥筑新巢", "你说过不要害怕", "青春像一场大雨", "火车开往南方去",
    "孩子们笑着奔跑", "湖边柳枝轻轻摇", "山谷传来了回音", "手中握着旧照片", "远处亮起一盏灯",
    "天亮以后就出发", "牵着手走过四季", "冬夜里炉火正旺", "鼓声咚咚震四方", "彩虹挂在天边上",
    "田埂上开满野菊", "梧桐树下许个愿", "歌声飞过千重山", "我们曾经很年轻", "琴弦弹出了思绪",
    "黎明前最黑的夜", "别让眼泪再流下", "种子埋进泥土里", "幸福就在身边找", "风铃叮当响不停",
    "银河闪烁着微光", "渔船归来满载鱼", "少年骑车穿小巷", "晚安我亲爱的朋友",
]

LYRIC_SETS = {"demo": LYRICS, "new": NEW_LYRICS}
